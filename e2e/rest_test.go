package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
	"github.com/cowrite/cowrite/web"
)

// reply is an HTTP answer of the REST API.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code of an error body.
func (r reply) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	r.json(t, &e)
	return e.Error.Code
}

// call makes a request to the server's REST API without a token. A string
// body is sent as it is, anything else as JSON.
func (s *server) call(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return s.callAs(t, "", method, path, body)
}

// callAs makes a REST request with a bearer token ("" for none). A string
// body is sent as it is, anything else as JSON.
func (s *server) callAs(t *testing.T, token, method, path string, body any) reply {
	t.Helper()
	return fetch(t, token, method, s.http.URL+path, body)
}

// fetch makes an HTTP request to url, of this process's server or of a
// binary's, with a bearer token ("" for none), and fails the test when no
// answer comes within a minute. A string body is sent as it is, anything
// else as JSON.
func fetch(t testing.TB, token, method, url string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// must checks a reply's status.
func must(t *testing.T, r reply, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("HTTP %d %s, want %d", r.status, r.body, status)
	}
	return r
}

// mustFail checks a reply's status and error code.
func mustFail(t *testing.T, r reply, status int, code string) {
	t.Helper()
	must(t, r, status)
	if got := r.errorCode(t); got != code {
		t.Fatalf("error code %q (%s), want %q", got, r.body, code)
	}
}

type docReply struct {
	Doc   struct{ ID, Epoch string }
	Rev   doc.Rev
	Delta ot.Delta
}

type opsReply struct {
	From, To, Rev doc.Rev
	Ops           []struct {
		Rev    doc.Rev
		Delta  ot.Delta
		Client string
		Seq    uint64
		Author string
	}
}

func TestREST(t *testing.T) {
	const maxBody = 64 << 10
	opts := serverOpts{web: web.Config{MaxFrame: maxBody}}
	s := startServer(t, "", opts)

	// Create, with and without initial content.
	r := must(t, s.call(t, "POST", "/v1/docs", map[string]any{"id": "plain", "title": "Plain"}), http.StatusCreated)
	var meta struct {
		ID, Title, Epoch string
		Rev              doc.Rev
	}
	r.json(t, &meta)
	if meta.ID != "plain" || meta.Title != "Plain" || meta.Epoch == "" || meta.Rev != 0 || r.header.Get("Location") != "/v1/docs/plain" {
		t.Fatalf("created %+v, location %q", meta, r.header.Get("Location"))
	}
	must(t, s.call(t, "POST", "/v1/docs", map[string]any{"id": "texted", "text": "hello"}), http.StatusCreated)
	must(t, s.call(t, "POST", "/v1/docs", `{"id":"rich","content":{"ops":[{"insert":"Hi","attributes":{"bold":true}},{"insert":{"image":"a.png"}},{"insert":"\n"}]}}`), http.StatusCreated)
	var auto struct{ ID string }
	must(t, s.call(t, "POST", "/v1/docs", `{}`), http.StatusCreated).json(t, &auto)
	if !session.ValidDocID(auto.ID) {
		t.Fatalf("generated id %q", auto.ID)
	}
	must(t, s.call(t, "DELETE", "/v1/docs/"+auto.ID, nil), http.StatusNoContent)
	mustFail(t, s.call(t, "POST", "/v1/docs", `{"id":"plain"}`), http.StatusConflict, "exists")
	mustFail(t, s.call(t, "POST", "/v1/docs", `{"id":"retains","content":{"ops":[{"retain":1}]}}`), http.StatusBadRequest, session.CodeBadDelta)
	mustFail(t, s.call(t, "POST", "/v1/docs", `{"id":"x","text":"a","content":{"ops":[]}}`), http.StatusBadRequest, session.CodeBadMessage)
	mustFail(t, s.call(t, "POST", "/v1/docs", `{"id":"x","colour":"red"}`), http.StatusBadRequest, session.CodeBadMessage)

	// List.
	var list struct{ Docs []struct{ ID string } }
	must(t, s.call(t, "GET", "/v1/docs", nil), http.StatusOK).json(t, &list)
	var ids []string
	for _, d := range list.Docs {
		ids = append(ids, d.ID)
	}
	if strings.Join(ids, ",") != "plain,rich,texted" {
		t.Fatalf("list %v", ids)
	}

	var got docReply
	must(t, s.call(t, "GET", "/v1/docs/rich", nil), http.StatusOK).json(t, &got)
	var rich ot.Delta
	rich.Insert("Hi", ot.Attributes{"bold": true}).InsertEmbed(ot.Embed{Type: "image", Value: "a.png"}, nil).Insert("\n", nil)
	if got.Rev != 0 || !got.Delta.Equal(rich) {
		t.Fatalf("rich: rev %d %v", got.Rev, got.Delta)
	}

	// An op submitted over HTTP is acknowledged, reaches a connected
	// client, and is durable.
	c := s.dial(t, "texted", client.Options{Name: "reader"})
	r = must(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"rev":0,"delta":{"ops":[{"retain":5},{"insert":" world"}]}}`), http.StatusOK)
	var sub struct {
		Rev    doc.Rev
		Client string
		Seq    uint64
	}
	r.json(t, &sub)
	if sub.Rev != 1 || sub.Client == "" || sub.Seq != 1 {
		t.Fatalf("submitted %+v", sub)
	}
	waitRev(t, 1, c)
	if c.Text() != "hello world" {
		t.Fatalf("client has %q", c.Text())
	}
	// With a client id and seq, a resend is applied once.
	bot := `{"rev":0,"delta":{"ops":[{"insert":"¡"}]},"client":"bot","seq":1,"author":"Bot"}`
	for range 2 {
		r = must(t, s.call(t, "POST", "/v1/docs/texted/ops", bot), http.StatusOK)
		r.json(t, &sub)
		if sub.Rev != 2 {
			t.Fatalf("bot op became rev %d, want 2", sub.Rev)
		}
	}
	waitRev(t, 2, c)
	if c.Text() != "¡hello world" {
		t.Fatalf("client has %q", c.Text())
	}
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"rev":0,"delta":{"ops":[{"insert":"?"}]},"client":"bot","seq":1}`), http.StatusConflict, session.CodeSeqConflict)
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"rev":0,"delta":{"ops":[{"insert":"?"}]},"client":"bot"}`), http.StatusBadRequest, session.CodeBadMessage)
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"rev":9,"delta":{"ops":[{"insert":"?"}]}}`), http.StatusConflict, session.CodeFutureRev)
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"rev":2,"delta":{"ops":[{"delete":100}]}}`), http.StatusUnprocessableEntity, session.CodeDoesNotFit)
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"rev":2,"delta":{"ops":[{"retain":0}]}}`), http.StatusBadRequest, session.CodeBadDelta)
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", `{"delta":{"ops":[]}}`), http.StatusBadRequest, session.CodeBadMessage)
	mustFail(t, s.call(t, "POST", "/v1/docs/nope/ops", `{"rev":0,"delta":{"ops":[{"insert":"?"}]}}`), http.StatusNotFound, session.CodeNotFound)
	if _, rev := s.content(t, "texted"); rev != 2 {
		t.Fatalf("refused ops changed the document: rev %d", rev)
	}

	// Get at the latest and at past revisions, as a delta and as text.
	want := map[doc.Rev]string{0: "hello", 1: "hello world", 2: "¡hello world"}
	for rev, text := range want {
		var d docReply
		must(t, s.call(t, "GET", "/v1/docs/texted?rev="+itoa(rev), nil), http.StatusOK).json(t, &d)
		if d.Rev != rev || d.Delta.Text() != text || !d.Delta.IsDocument() {
			t.Fatalf("rev %d: %d %v", rev, d.Rev, d.Delta)
		}
		r := must(t, s.call(t, "GET", "/v1/docs/texted?format=text&rev="+itoa(rev), nil), http.StatusOK)
		if string(r.body) != text || r.header.Get("X-Cowrite-Rev") != itoa(rev) {
			t.Fatalf("rev %d as text: %q (rev %s)", rev, r.body, r.header.Get("X-Cowrite-Rev"))
		}
	}
	var latest docReply
	must(t, s.call(t, "GET", "/v1/docs/texted", nil), http.StatusOK).json(t, &latest)
	if latest.Rev != 2 || latest.Delta.Text() != want[2] {
		t.Fatalf("latest: %d %v", latest.Rev, latest.Delta)
	}
	mustFail(t, s.call(t, "GET", "/v1/docs/texted?rev=3", nil), http.StatusNotFound, session.CodeNotFound)
	mustFail(t, s.call(t, "GET", "/v1/docs/texted?rev=x", nil), http.StatusBadRequest, session.CodeBadMessage)
	mustFail(t, s.call(t, "GET", "/v1/docs/texted?format=xml", nil), http.StatusBadRequest, session.CodeBadMessage)

	// Op ranges.
	var ops opsReply
	must(t, s.call(t, "GET", "/v1/docs/texted/ops", nil), http.StatusOK).json(t, &ops)
	if ops.From != 0 || ops.To != 2 || ops.Rev != 2 || len(ops.Ops) != 2 {
		t.Fatalf("ops: %+v", ops)
	}
	if o := ops.Ops[1]; o.Rev != 2 || o.Client != "bot" || o.Seq != 1 || o.Author != "Bot" || o.Delta.Text() != "¡" {
		t.Fatalf("op 2: %+v", o)
	}
	must(t, s.call(t, "GET", "/v1/docs/texted/ops?from=1&to=2", nil), http.StatusOK).json(t, &ops)
	if len(ops.Ops) != 1 || ops.Ops[0].Rev != 2 {
		t.Fatalf("ops 1..2: %+v", ops)
	}
	mustFail(t, s.call(t, "GET", "/v1/docs/texted/ops?from=2&to=1", nil), http.StatusBadRequest, session.CodeBadMessage)
	mustFail(t, s.call(t, "GET", "/v1/docs/nope/ops", nil), http.StatusNotFound, session.CodeNotFound)

	// Bad ids and oversize bodies.
	long := strings.Repeat("a", 129)
	for _, path := range []string{"/v1/docs/.dot", "/v1/docs/.dot/ops", "/v1/docs/" + long, "/v1/docs/a:b"} {
		mustFail(t, s.call(t, "GET", path, nil), http.StatusBadRequest, session.CodeBadDocID)
	}
	mustFail(t, s.call(t, "DELETE", "/v1/docs/.dot", nil), http.StatusBadRequest, session.CodeBadDocID)
	mustFail(t, s.call(t, "POST", "/v1/docs/.dot/ops", `{"rev":0,"delta":{"ops":[{"insert":"?"}]}}`), http.StatusBadRequest, session.CodeBadDocID)
	for _, id := range []string{".dot", "has space", long, "é"} {
		mustFail(t, s.call(t, "POST", "/v1/docs", map[string]any{"id": id}), http.StatusBadRequest, session.CodeBadDocID)
	}
	mustFail(t, s.call(t, "GET", "/v1/docs/nope", nil), http.StatusNotFound, session.CodeNotFound)
	huge := strings.Repeat("x", maxBody)
	mustFail(t, s.call(t, "POST", "/v1/docs", map[string]any{"id": "huge", "text": huge}), http.StatusRequestEntityTooLarge, session.CodeTooLarge)
	mustFail(t, s.call(t, "POST", "/v1/docs/texted/ops", map[string]any{"rev": 2, "delta": map[string]any{"ops": []any{map[string]any{"insert": huge}}}}), http.StatusRequestEntityTooLarge, session.CodeTooLarge)
	mustFail(t, s.call(t, "GET", "/v1/docs/huge", nil), http.StatusNotFound, session.CodeNotFound)

	// Everything acknowledged survives a restart.
	s.stop()
	s = startServer(t, s.dir, opts)
	r = must(t, s.call(t, "GET", "/v1/docs/texted?format=text", nil), http.StatusOK)
	if string(r.body) != want[2] || r.header.Get("X-Cowrite-Rev") != "2" {
		t.Fatalf("after restart: %q at %s", r.body, r.header.Get("X-Cowrite-Rev"))
	}

	// Delete closes the document's connections with 4004, then it is gone.
	raw, _ := s.rawJoin(t, "rich", session.Hello{Client: "watcher", Rev: -1})
	gc := s.dial(t, "rich", client.Options{Name: "editor"})
	must(t, s.call(t, "DELETE", "/v1/docs/rich", nil), http.StatusNoContent)
	if code, _ := raw.closed(); code != session.CloseNotFound {
		t.Fatalf("raw client closed with %d, want %d", code, session.CloseNotFound)
	}
	eventually(t, "the Go client to stop", func() bool { return gc.Status() == client.Closed })
	mustFail(t, s.call(t, "GET", "/v1/docs/rich", nil), http.StatusNotFound, session.CodeNotFound)
	mustFail(t, s.call(t, "GET", "/v1/docs/rich/ops", nil), http.StatusNotFound, session.CodeNotFound)
	mustFail(t, s.call(t, "DELETE", "/v1/docs/rich", nil), http.StatusNotFound, session.CodeNotFound)
	must(t, s.call(t, "GET", "/v1/docs", nil), http.StatusOK).json(t, &list)
	for _, d := range list.Docs {
		if d.ID == "rich" {
			t.Fatal("deleted document still listed")
		}
	}
}

func itoa(r doc.Rev) string { return strconv.FormatInt(int64(r), 10) }
