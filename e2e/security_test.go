package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/session"
)

// TestSecurity_RESTOpClientFitsTheWire checks that an op posted over REST
// whose client id or seq could not be written in a WebSocket frame is
// refused with 400 bad_message. Taken, it could be neither broadcast nor
// carried in a catch-up welcome: its room would drop the op frame, and
// every client catching up over it would wait for a welcome that never
// comes.
func TestSecurity_RESTOpClientFitsTheWire(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	must(t, s.call(t, "POST", "/v1/docs", map[string]any{"id": "notes", "text": "hi"}), http.StatusCreated)
	watcher, w := s.rawJoin(t, "notes", session.Hello{Client: "watcher", Rev: -1})

	for _, tt := range []struct {
		name   string
		client string
		seq    uint64
	}{
		{"client_with_a_space", "a b", 1},
		{"client_with_a_dot", "bot.1", 1},
		{"client_over_64_bytes", strings.Repeat("a", 65), 1},
		{"seq_over_2^53-1", "bot", 1 << 53},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"rev": 0, "delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}, "client": tt.client, "seq": tt.seq}
			mustFail(t, s.call(t, "POST", "/v1/docs/notes/ops", body), http.StatusBadRequest, session.CodeBadMessage)
		})
	}

	must(t, s.call(t, "POST", "/v1/docs/notes/ops", map[string]any{"rev": 0, "client": "bot", "seq": 1,
		"delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}}), http.StatusOK)
	if op := expect[session.Remote](watcher); op.Rev != 1 || op.Client != "bot" {
		t.Fatalf("watcher got op %+v, want rev 1 from bot", op)
	}
	_, late := s.rawJoin(t, "notes", session.Hello{Client: "late", Rev: 0, Epoch: w.Epoch})
	if late.Rev != 1 || len(late.Ops) != 1 {
		t.Fatalf("catch-up welcome %+v, want the one op", late)
	}
	if d, _ := s.content(t, "notes"); d.Text() != "xhi" {
		t.Fatalf("content %q, want %q", d.Text(), "xhi")
	}
}

// TestSecurity_ClientIDBelongsToItsUser checks that, with tokens, a
// co-editor who learnt another user's client id from presence cannot use
// it: neither by joining with it while its owner is away (which would hand
// them the owner's dedupe records, let them send ops that the owner's
// client takes for its own on reconnect, and lock the owner out with 4001)
// nor by posting REST ops under it. The owner gets back in.
func TestSecurity_ClientIDBelongsToItsUser(t *testing.T) {
	s := startAuthServer(t)
	edit := map[string]any{"notes": "edit"}
	annTok := mint(t, "ann", "Ann", edit, nil)
	malTok := mint(t, "mal", "Mal", edit, nil)

	// Mal stays in the document, so it stays open, and learns Ann's id.
	mal, _ := s.rawJoin(t, "notes", session.Hello{Client: "mal-1", Rev: -1, Token: malTok})
	ann, w := s.rawJoin(t, "notes", session.Hello{Client: "ann-tab", Rev: -1, Token: annTok})
	if p := expect[session.Presence](mal); p.Client != "ann-tab" {
		t.Fatalf("mal saw presence %+v", p)
	}
	ann.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "ann's line")})
	expect[session.Ack](ann)
	ann.ws.Close()
	expect[session.Leave](mal)

	// While Ann is away, Mal tries her client id.
	r := s.rawDial(t, "notes")
	r.send(&session.Hello{Version: session.ProtocolVersion, Client: "ann-tab", Rev: 1, Epoch: w.Epoch, Token: malTok})
	if code, errs := r.closed(); code != session.CloseUnauthorized || len(errs) != 1 || errs[0].Code != session.CodeUnauthorized {
		t.Fatalf("mal's hello with ann's client id: close %d, errors %+v; want %d and one %s", code, errs, session.CloseUnauthorized, session.CodeUnauthorized)
	}
	for _, seq := range []uint64{2, 1 << 50} {
		got := s.callAs(t, malTok, "POST", "/v1/docs/notes/ops", map[string]any{"rev": 1, "client": "ann-tab", "seq": seq,
			"delta": map[string]any{"ops": []any{map[string]any{"insert": "mal was here "}}}})
		if got.status != http.StatusForbidden {
			t.Fatalf("mal's REST op as ann-tab seq %d: HTTP %d %s, want 403", seq, got.status, got.body)
		}
	}

	// Ann reconnects: her records are hers, and her next op goes through.
	ann, w = s.rawJoin(t, "notes", session.Hello{Client: "ann-tab", Rev: 1, Epoch: w.Epoch, Token: annTok})
	if w.Seq != 1 || w.Rev != 1 || len(w.Ops) != 0 {
		t.Fatalf("ann's welcome %+v, want seq 1 at rev 1 with nothing to catch up", w)
	}
	ann.send(&session.Submit{Seq: 2, Base: 1, Delta: ins(0, "more ")})
	if a := expect[session.Ack](ann); a.Seq != 2 || a.Rev != 2 {
		t.Fatalf("ann's ack %+v", a)
	}
	// While she is connected, Mal cannot post an op under her id and seq
	// either: her client would take it for the ack of its own op.
	if got := s.callAs(t, malTok, "POST", "/v1/docs/notes/ops", map[string]any{"rev": 2, "client": "ann-tab", "seq": 3,
		"delta": map[string]any{"ops": []any{map[string]any{"insert": "mal was here "}}}}); got.status != http.StatusForbidden {
		t.Fatalf("mal's REST op as a connected ann-tab: HTTP %d %s, want 403", got.status, got.body)
	}
	// Her own REST ops under her client id are hers to send.
	must(t, s.callAs(t, annTok, "POST", "/v1/docs/notes/ops", map[string]any{"rev": 2, "client": "ann-tab", "seq": 3,
		"delta": map[string]any{"ops": []any{map[string]any{"insert": "! "}}}}), http.StatusOK)
	if d, _ := s.content(t, "notes"); d.Text() != "! more ann's line" {
		t.Fatalf("content %q", d.Text())
	}
}

// TestSecurity_RESTKeepsTheLimits checks that the REST API keeps the limits
// a WebSocket keeps: ops in one delta, bytes of text one op inserts, and
// the document's length, also for a document created with content.
func TestSecurity_RESTKeepsTheLimits(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{MaxDeltaOps: 10, MaxInsertBytes: 100, MaxDocLen: 200}})
	must(t, s.call(t, "POST", "/v1/docs", map[string]any{"id": "notes", "text": "hi"}), http.StatusCreated)
	op := func(ops ...any) map[string]any {
		return map[string]any{"rev": 0, "delta": map[string]any{"ops": ops}}
	}
	var many []any
	for i := range 11 {
		o := map[string]any{"insert": "ab"}
		if i%2 == 0 {
			o["attributes"] = map[string]any{"bold": true}
		}
		many = append(many, o)
	}
	for _, tt := range []struct {
		name, path string
		body       any
	}{
		{"op_over_max_delta_ops", "/v1/docs/notes/ops", op(many...)},
		{"op_over_max_insert_bytes", "/v1/docs/notes/ops", op(map[string]any{"insert": strings.Repeat("é", 51)})},
		{"create_over_max_doc_len", "/v1/docs", map[string]any{"id": "big", "text": strings.Repeat("x", 201)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustFail(t, s.call(t, "POST", tt.path, tt.body), http.StatusRequestEntityTooLarge, session.CodeTooLarge)
		})
	}
	must(t, s.call(t, "POST", "/v1/docs/notes/ops", op(many[:10]...)), http.StatusOK)
	if d, _ := s.content(t, "notes"); d.Length() != 22 {
		t.Fatalf("content %q", d.Text())
	}
	if _, err := s.manager.Meta(t.Context(), "big"); err == nil {
		t.Fatal("the oversize document was created")
	}
}

// TestSecurity_ReaderPresenceFlood checks that a reader who floods presence
// (which it may not send) is held to the presence rate like an editor: it
// gets read_only for each, and far over the rate rate_limited and close
// 4029, rather than an error frame for every frame for as long as it likes.
func TestSecurity_ReaderPresenceFlood(t *testing.T) {
	s := startVerifyingServer(t, "", authConfig(), serverOpts{session: session.Config{PresenceRate: 20}})
	must(t, s.callAs(t, mint(t, "ed", "Ed", map[string]any{"notes": "edit"}, nil), "POST", "/v1/docs", map[string]any{"id": "notes"}), http.StatusCreated)
	f, w := s.rawJoin(t, "notes", session.Hello{Client: "reader", Rev: -1, Token: mint(t, "vi", "Vi", map[string]any{"notes": "view"}, nil)})
	if w.Access != session.AccessView {
		t.Fatalf("access %q", w.Access)
	}
	// A few seconds of flood: far more than it takes an editor to be
	// closed.
	stop := make(chan struct{})
	time.AfterFunc(3*time.Second, func() { close(stop) })
	go flood(f, stop, func(i int) []byte {
		b, _ := session.Encode(&session.SetPresence{Sel: &session.Selection{Index: i % 3}})
		return b
	})
	code, errs := f.closed()
	if code != session.CloseRateLimited || len(errs) == 0 || errs[len(errs)-1].Code != session.CodeRateLimited {
		t.Fatalf("reader closed with %d after %d errors (last %+v), want 4029 after rate_limited", code, len(errs), errs[len(errs)-1:])
	}
	for _, e := range errs[:len(errs)-1] {
		if e.Code != session.CodeReadOnly {
			t.Fatalf("reader got %+v, want read_only", e)
		}
	}
}

// TestSecurity_RESTAuthenticatesBeforeReading checks that a request
// without a good token is answered 401 before its body is read: the body
// of someone unknown is not worth decoding, and the answer must not depend
// on it.
func TestSecurity_RESTAuthenticatesBeforeReading(t *testing.T) {
	s := startAuthServer(t)
	editor := mint(t, "ed", "Ed", map[string]any{"*": "edit"}, nil)
	for _, tt := range []struct{ name, method, path, body string }{
		{"create_garbage", "POST", "/v1/docs", `{"id":`},
		{"create_unknown_field", "POST", "/v1/docs", `{"id":"x","colour":"red"}`},
		{"create_bad_delta", "POST", "/v1/docs", `{"id":"x","content":{"ops":[{"retain":1}]}}`},
		{"op_garbage", "POST", "/v1/docs/x/ops", `{"rev":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, tok := range []string{"", "garbage"} {
				mustFail(t, s.callAs(t, tok, tt.method, tt.path, tt.body), http.StatusUnauthorized, session.CodeUnauthorized)
			}
		})
	}
	mustFail(t, s.callAs(t, editor, "POST", "/v1/docs", `{"id":`), http.StatusBadRequest, session.CodeBadMessage)
}

// TestSecurity_SmallFramesBeforeHello checks that a connection that has not
// said hello cannot send a frame near --max-frame: a hello is a few fields
// and a token of at most 8 KiB, so anything over 64 KiB before hello is
// closed with 1009, as a frame over the limit is. Once hello is accepted,
// frames up to --max-frame are read.
func TestSecurity_SmallFramesBeforeHello(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	big, err := session.Encode(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, strings.Repeat("x", 100<<10))})
	if err != nil {
		t.Fatal(err)
	}

	// One byte over, so that the whole frame is on its way before the
	// server refuses it (a larger one may see the connection reset while
	// it is still being written).
	r := s.rawDial(t, "notes")
	over := make([]byte, 64<<10+1)
	r.sendFrame(over)
	if code, _ := r.closed(); code != websocket.CloseMessageTooBig {
		t.Fatalf("a %d-byte frame before hello: close %d, want %d", len(over), code, websocket.CloseMessageTooBig)
	}
	// A hello with a token as long as the protocol allows gets in.
	r, _ = s.rawJoin(t, "notes", session.Hello{Client: "paster", Rev: -1, Name: strings.Repeat("ñ", 64), Token: strings.Repeat("t", 8192)})
	r.sendFrame(big)
	if a := expect[session.Ack](r); a.Seq != 1 {
		t.Fatalf("ack %+v", a)
	}
}

// TestSecurity_ClientIDOwnerSurvivesRestart checks that a client id stays
// its user's after the document was unloaded and the server restarted:
// the dedupe records remember whose they are, so a co-editor who learned
// the id cannot race its owner's reconnect.
func TestSecurity_ClientIDOwnerSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startTokenServer(t, dir)
	edit := map[string]any{"notes": "edit"}
	annTok, malTok := mint(t, "ann", "Ann", edit, nil), mint(t, "mal", "Mal", edit, nil)
	ann, w := s.rawJoin(t, "notes", session.Hello{Client: "ann-tab", Rev: -1, Token: annTok})
	ann.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "ann's line")})
	expect[session.Ack](ann)
	ann.ws.Close()
	s.stop()

	s = startTokenServer(t, dir)
	r := s.rawDial(t, "notes")
	r.send(&session.Hello{Version: session.ProtocolVersion, Client: "ann-tab", Rev: 1, Epoch: w.Epoch, Token: malTok})
	if code, errs := r.closed(); code != session.CloseUnauthorized || len(errs) != 1 || errs[0].Code != session.CodeUnauthorized {
		t.Fatalf("mal's hello with ann's client id after a restart: close %d, errors %+v", code, errs)
	}
	if got := s.callAs(t, malTok, "POST", "/v1/docs/notes/ops", map[string]any{"rev": 1, "client": "ann-tab", "seq": 2,
		"delta": map[string]any{"ops": []any{map[string]any{"insert": "mal was here "}}}}); got.status != http.StatusForbidden {
		t.Fatalf("mal's REST op as ann-tab after a restart: HTTP %d %s, want 403", got.status, got.body)
	}
	ann, w = s.rawJoin(t, "notes", session.Hello{Client: "ann-tab", Rev: 1, Epoch: w.Epoch, Token: annTok})
	if w.Seq != 1 {
		t.Fatalf("ann's welcome after a restart: seq %d, want 1", w.Seq)
	}
	ann.send(&session.Submit{Seq: 2, Base: 1, Delta: ins(0, "more ")})
	expect[session.Ack](ann)
	// A REST op without a client id is nobody's, and still goes through.
	must(t, s.callAs(t, malTok, "POST", "/v1/docs/notes/ops", map[string]any{"rev": 2,
		"delta": map[string]any{"ops": []any{map[string]any{"insert": "mal: "}}}}), http.StatusOK)
}
