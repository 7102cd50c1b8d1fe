package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
	"github.com/cowrite/cowrite/web"
)

// frame encodes v with msgpack as it is, unchecked: for frames that the
// session codec refuses to build.
func frame(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deepFrame returns an op frame with an array nested depth levels deep.
func deepFrame(depth int) []byte {
	var b bytes.Buffer
	b.Write([]byte{0x82, 0xa1, 't', 0xa2, 'o', 'p', 0xa1, 'x'})
	b.Write(bytes.Repeat([]byte{0x91}, depth)) // arrays of one element
	b.WriteByte(0xc0)                          // nil
	return b.Bytes()
}

// TestBadInput sends a series of malformed or forbidden messages while a
// well-behaved client edits the same document: each is refused with its
// error code and close code, none reaches the document, and the
// well-behaved client goes on.
func TestBadInput(t *testing.T) {
	const maxFrame = 64 << 10
	s := startServer(t, "", serverOpts{
		session: session.Config{HelloTimeout: time.Second},
		web:     web.Config{MaxFrame: maxFrame},
	})
	const id = "bad"
	good := s.dial(t, id, client.Options{Name: "good"})
	if err := good.Submit(ins(0, "safe")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, good)

	// op returns an op frame with a delta as given, unchecked.
	op := func(seq uint64, rev doc.Rev, ops ...map[string]any) []byte {
		list := make([]any, len(ops))
		for i, o := range ops {
			list[i] = o
		}
		return frame(t, map[string]any{"t": "op", "seq": seq, "rev": int64(rev), "delta": map[string]any{"ops": list}})
	}
	valid, err := session.Encode(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "x")})
	if err != nil {
		t.Fatal(err)
	}

	for i, tc := range []struct {
		name  string
		hello bool                // say hello first
		setup func(*raw)          // before the document's state is taken
		act   func(*raw, doc.Rev) // the bad input, given the current revision
		code  string              // the error code expected, "" for none
		seq   uint64              // the seq the error names
		close int                 // the close code expected, 0 when the session goes on
	}{
		{name: "garbage", hello: true, act: func(r *raw, _ doc.Rev) { r.sendFrame([]byte("\xc1garbage\x00\xff")) },
			code: session.CodeBadFrame, close: session.CloseProtocol},
		{name: "truncated_msgpack", hello: true, act: func(r *raw, _ doc.Rev) { r.sendFrame(valid[:len(valid)/2]) },
			code: session.CodeBadFrame, close: session.CloseProtocol},
		{name: "huge_array_header", hello: true, act: func(r *raw, _ doc.Rev) { r.sendFrame([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}) },
			code: session.CodeBadFrame, close: session.CloseProtocol},
		{name: "huge_map_in_op", hello: true, act: func(r *raw, _ doc.Rev) {
			r.sendFrame([]byte{0x82, 0xa1, 't', 0xa2, 'o', 'p', 0xa1, 'x', 0xdf, 0xff, 0xff, 0xff, 0xff})
		}, code: session.CodeBadFrame, close: session.CloseProtocol},
		{name: "deeply_nested", hello: true, act: func(r *raw, _ doc.Rev) { r.sendFrame(deepFrame(60000)) },
			code: session.CodeBadFrame, close: session.CloseProtocol},
		{name: "unknown_type", hello: true, act: func(r *raw, _ doc.Rev) { r.sendFrame(frame(t, map[string]any{"t": "launch"})) },
			code: session.CodeUnknownType, close: session.CloseProtocol},
		{name: "oversize_frame", hello: true, act: func(r *raw, _ doc.Rev) { r.sendFrame(make([]byte, maxFrame+1)) },
			close: websocket.CloseMessageTooBig},
		{name: "text_frame", hello: true, act: func(r *raw, _ doc.Rev) {
			if err := r.ws.WriteMessage(websocket.TextMessage, []byte(`{"t":"op","seq":1,"rev":0,"delta":{"ops":[{"insert":"x"}]}}`)); err != nil {
				t.Fatal(err)
			}
		}, close: session.CloseProtocol},
		{name: "invalid_delta", hello: true, act: func(r *raw, rev doc.Rev) {
			r.sendFrame(op(1, rev, map[string]any{"retain": -3}))
		}, code: session.CodeBadDelta, seq: 1},
		{name: "op_with_two_kinds", hello: true, act: func(r *raw, rev doc.Rev) {
			r.sendFrame(op(1, rev, map[string]any{"insert": "x", "delete": 1}))
		}, code: session.CodeBadDelta, seq: 1},
		{name: "op_without_seq", hello: true, act: func(r *raw, rev doc.Rev) {
			r.sendFrame(frame(t, map[string]any{"t": "op", "rev": int64(rev), "delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}}))
		}, code: session.CodeBadMessage},
		{name: "negative_selection", hello: true, act: func(r *raw, _ doc.Rev) {
			r.sendFrame(frame(t, map[string]any{"t": "presence", "sel": map[string]any{"index": -1, "length": 0}}))
		}, code: session.CodeBadMessage},
		{name: "delta_longer_than_document", hello: true, act: func(r *raw, rev doc.Rev) {
			r.send(&session.Submit{Seq: 1, Base: rev, Delta: del(0, 1<<20)})
		}, code: session.CodeDoesNotFit, seq: 1},
		{name: "future_revision", hello: true, act: func(r *raw, rev doc.Rev) {
			r.send(&session.Submit{Seq: 1, Base: rev + 100, Delta: ins(0, "x")})
		}, code: session.CodeFutureRev, seq: 1},
		{name: "duplicate_seq_other_op", hello: true, setup: func(r *raw) {
			r.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "first")})
			expect[session.Ack](r)
		}, act: func(r *raw, rev doc.Rev) {
			r.send(&session.Submit{Seq: 1, Base: rev, Delta: ins(0, "second")})
		}, code: session.CodeSeqConflict, seq: 1},
		{name: "op_before_hello", act: func(r *raw, _ doc.Rev) { r.sendFrame(valid) },
			code: session.CodeNotHello, close: session.CloseProtocol},
		{name: "garbage_before_hello", act: func(r *raw, _ doc.Rev) { r.sendFrame([]byte{0x00}) },
			code: session.CodeBadFrame, close: session.CloseProtocol},
		{name: "no_hello_in_time", act: func(*raw, doc.Rev) {},
			code: session.CodeNotHello, close: session.CloseHelloTimeout},
		{name: "hello_twice", hello: true, act: func(r *raw, _ doc.Rev) {
			r.send(&session.Hello{Version: session.ProtocolVersion, Client: "again", Rev: -1})
		}, code: session.CodeNotHello, close: session.CloseProtocol},
		{name: "unknown_version", act: func(r *raw, _ doc.Rev) {
			r.send(&session.Hello{Version: session.ProtocolVersion + 1, Client: "future", Rev: -1})
		}, code: session.CodeVersion, close: session.CloseProtocol},
		{name: "bad_client_id", act: func(r *raw, _ doc.Rev) {
			r.sendFrame(frame(t, map[string]any{"t": "hello", "v": session.ProtocolVersion, "client": "no spaces!"}))
		}, code: session.CodeBadMessage, close: session.CloseProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *raw
			if tc.hello {
				r, _ = s.rawJoin(t, id, session.Hello{Client: fmt.Sprintf("bad-%d", i), Rev: -1})
			} else {
				r = s.rawDial(t, id)
			}
			r.t = t
			if tc.setup != nil {
				tc.setup(r)
			}
			before, rev := s.content(t, id)
			tc.act(r, rev)
			if tc.close != 0 {
				code, errs := r.closed()
				if code != tc.close {
					t.Errorf("closed with %d, want %d (errors %+v)", code, tc.close, errs)
				}
				if tc.code != "" && (len(errs) != 1 || errs[0].Code != tc.code) {
					t.Errorf("errors %+v, want one %s", errs, tc.code)
				}
			} else {
				e := expect[session.Error](r)
				if e.Code != tc.code || e.Seq != tc.seq {
					t.Errorf("error %+v, want code %s seq %d", e, tc.code, tc.seq)
				}
			}
			if after, rev2 := s.content(t, id); rev2 != rev || !after.Equal(before) {
				t.Fatalf("document changed: rev %d %v, was rev %d %v", rev2, after, rev, before)
			}
			if tc.close == 0 {
				// The session goes on: a valid op is taken.
				r.send(&session.Submit{Seq: 100, Base: rev, Delta: ins(0, "v")})
				if ack := expect[session.Ack](r); ack.Seq != 100 || ack.Rev != rev+1 {
					t.Fatalf("ack %+v after the refusal, want seq 100 rev %d", ack, rev+1)
				}
			}
			// The well-behaved client is unaffected.
			goodEdit(t, s, good, id)
		})
	}

	t.Run("invalid_document_id", func(t *testing.T) {
		for _, bad := range []string{".hidden", strings.Repeat("a", 129), "a%20b", "a:b"} {
			ws, resp, err := websocket.DefaultDialer.Dial(s.wsURL(bad), nil)
			if err == nil {
				ws.Close()
				t.Fatalf("%q: WebSocket opened", bad)
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%q: %v, want HTTP 400", bad, err)
			}
		}
		goodEdit(t, s, good, id)
	})
}

// goodEdit has a well-behaved client make an edit and checks that it is
// acknowledged and lands on the server.
func goodEdit(t *testing.T, s *server, good *client.Client, id string) {
	t.Helper()
	if err := good.Submit(ins(good.Len(), ".")); err != nil {
		t.Fatalf("good client: %v", err)
	}
	waitSynced(t, good)
	content, rev := s.content(t, id)
	waitRev(t, rev, good)
	if !good.Delta().Equal(content) || good.Status() != client.Saved {
		t.Fatalf("good client: %v (%v), server %v", good.Delta(), good.Status(), content)
	}
}

// TestBadInput_OversizeOp has the Go client send an op larger than the
// server's frame limit: the server closes with 1009, and the client sets
// the edit aside rather than resend it forever, and goes on editing.
func TestBadInput_OversizeOp(t *testing.T) {
	const maxFrame = 16 << 10
	s := startServer(t, "", serverOpts{web: web.Config{MaxFrame: maxFrame}})
	const id = "oversize"
	c := s.dial(t, id, client.Options{Name: "paster", MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err := c.Submit(ins(0, "small")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, c)
	if err := c.Submit(ins(5, strings.Repeat("x", 1<<20))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the oversize edit to be set aside", func() bool { return len(c.Unsent()) == 1 })
	waitSynced(t, c)
	if c.Text() != "small" {
		t.Fatalf("client has %d bytes after the refusal", len(c.Text()))
	}
	if err := c.Submit(ins(5, "!")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, c)
	if content, rev := s.content(t, id); content.Text() != "small!" || rev != 2 || c.Text() != "small!" {
		t.Fatalf("server %q at %d, client %q", content.Text(), rev, c.Text())
	}
}
