package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
	"github.com/cowrite/cowrite/web"
)

// TestBadInput_TooLargeDelta sends deltas over the op-count and
// inserted-bytes limits: each is refused with too_large, the connection
// stays open, and the document is unchanged.
func TestBadInput_TooLargeDelta(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{MaxDeltaOps: 10, MaxInsertBytes: 100}})
	const id = "toolarge"
	r, w := s.rawJoin(t, id, session.Hello{Client: "big", Rev: -1})
	r.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, "ok")})
	ack := expect[session.Ack](r)

	var many ot.Delta
	for i := range 11 {
		many.Ops = append(many.Ops, ot.Op{Insert: "x", Attributes: map[string]any{"n": float64(i)}})
	}
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: many})
	if e := expect[session.Error](r); e.Code != session.CodeTooLarge || e.Seq != 2 {
		t.Fatalf("11 ops: got %+v, want too_large for seq 2", e)
	}
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, strings.Repeat("y", 101))})
	if e := expect[session.Error](r); e.Code != session.CodeTooLarge || e.Seq != 2 {
		t.Fatalf("101 bytes: got %+v, want too_large for seq 2", e)
	}
	// Still open, and within the limits it still edits.
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, strings.Repeat("z", 100))})
	expect[session.Ack](r)
	if content, rev := s.content(t, id); content.Text() != strings.Repeat("z", 100)+"ok" || rev != 2 {
		t.Fatalf("server has %q at %d", content.Text(), rev)
	}
}

// TestBadInput_TooLargeDocument grows a document to its limit: the change
// that would pass it is refused with too_large, the document is unchanged,
// and a change that shrinks or keeps it is taken.
func TestBadInput_TooLargeDocument(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{MaxDocLen: 50}})
	const id = "toolong"
	r, w := s.rawJoin(t, id, session.Hello{Client: "grow", Rev: -1})
	r.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, strings.Repeat("a", 49))})
	ack := expect[session.Ack](r)
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, "bb")})
	if e := expect[session.Error](r); e.Code != session.CodeTooLarge || e.Seq != 2 {
		t.Fatalf("got %+v, want too_large for seq 2", e)
	}
	if content, rev := s.content(t, id); content.Text() != strings.Repeat("a", 49) || rev != ack.Rev {
		t.Fatalf("server has %q at %d after the refusal", content.Text(), rev)
	}
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, "b")})
	ack = expect[session.Ack](r)
	// A resend of an applied op is acknowledged again, not refused.
	r.send(&session.Submit{Seq: 2, Base: ack.Rev - 1, Delta: ins(0, "b")})
	if again := expect[session.Ack](r); again.Rev != ack.Rev {
		t.Fatalf("resend acked at %d, want %d", again.Rev, ack.Rev)
	}
	if content, _ := s.content(t, id); content.Text() != "b"+strings.Repeat("a", 49) {
		t.Fatalf("server has %q", content.Text())
	}
}

// typeWhile has a Go client type n characters, one at a time, each waiting
// for its ack, and returns the 99th percentile of the ack latency.
func typeWhile(t *testing.T, c *client.Client, n int) time.Duration {
	t.Helper()
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := c.Submit(ins(c.Len(), "k")); err != nil {
			t.Fatalf("typist: %v", err)
		}
		waitSynced(t, c)
		lat = append(lat, time.Since(start))
		time.Sleep(5 * time.Millisecond)
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// flood sends frames made by next, about one a millisecond, until the
// connection fails or stop closes.
func flood(r *raw, stop <-chan struct{}, next func(i int) []byte) {
	for i := 1; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if r.ws.WriteMessage(websocket.BinaryMessage, next(i)) != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLimits_OpFlood has a raw client send ops far over its rate while a
// Go client types: the flooder gets rate_limited, then close 4029, and the
// typist's ops are all acknowledged in good time.
func TestLimits_OpFlood(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{OpRate: 100}})
	const id = "opflood"
	typist := s.dial(t, id, client.Options{Name: "typist"})
	f, w := s.rawJoin(t, id, session.Hello{Client: "flooder", Rev: -1})
	stop := make(chan struct{})
	defer close(stop)
	go flood(f, stop, func(i int) []byte {
		b, _ := session.Encode(&session.Submit{Seq: uint64(i), Base: w.Rev, Delta: ins(0, "f")})
		return b
	})
	p99 := typeWhile(t, typist, 100)
	t.Logf("typist's ack p99 during the op flood: %v", p99)
	code, errs := f.closed()
	limited := 0
	for _, e := range errs {
		if e.Code == session.CodeRateLimited {
			limited++
		} else {
			t.Errorf("flooder got %+v", e)
		}
	}
	if code != session.CloseRateLimited || limited == 0 {
		t.Fatalf("flooder closed with %d after %d rate_limited errors, want 4029 after some", code, limited)
	}
	if p99 > time.Second {
		t.Fatalf("typist's ack p99 %v during the flood", p99)
	}
	waitSynced(t, typist)
	content, _ := s.content(t, id)
	if got := strings.Count(content.Text(), "k"); got != 100 {
		t.Fatalf("the document holds %d of the typist's 100 characters", got)
	}
}

// TestLimits_PresenceFlood has a raw client send presence far over its
// rate while a Go client types: the flooder gets rate_limited, then close
// 4029, and the typist's ops are all acknowledged in good time.
func TestLimits_PresenceFlood(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{PresenceRate: 20}})
	const id = "presflood"
	typist := s.dial(t, id, client.Options{Name: "typist"})
	f, _ := s.rawJoin(t, id, session.Hello{Client: "flooder", Rev: -1})
	stop := make(chan struct{})
	defer close(stop)
	go flood(f, stop, func(i int) []byte {
		b, _ := session.Encode(&session.SetPresence{Sel: &session.Selection{Index: i % 3}})
		return b
	})
	p99 := typeWhile(t, typist, 100)
	t.Logf("typist's ack p99 during the presence flood: %v", p99)
	code, errs := f.closed()
	if code != session.CloseRateLimited || len(errs) == 0 || errs[len(errs)-1].Code != session.CodeRateLimited {
		t.Fatalf("flooder closed with %d after %+v, want 4029 after rate_limited", code, errs)
	}
	if p99 > time.Second {
		t.Fatalf("typist's ack p99 %v during the flood", p99)
	}
}

// TestLimits_PresenceCoalesced sends presence a little over the rate: the
// connection stays open and the others see the latest selection.
func TestLimits_PresenceCoalesced(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{PresenceRate: 5}})
	const id = "prescoalesce"
	watcher := s.dial(t, id, client.Options{Name: "watcher"})
	if err := watcher.Submit(ins(0, "0123456789")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, watcher)
	r, _ := s.rawJoin(t, id, session.Hello{Client: "mover", Rev: -1})
	for i := range 10 { // twice the burst at once
		r.send(&session.SetPresence{Sel: &session.Selection{Index: i}})
	}
	eventually(t, "the latest selection to be shown", func() bool {
		p, ok := watcher.Others()["mover"]
		return ok && p.Sel != nil && p.Sel.Index == 9
	})
	r.send(&session.Submit{Seq: 1, Base: 1, Delta: ins(0, "x")})
	expect[session.Ack](r)
}

// dialStatus tries a WebSocket to a document and returns the HTTP status
// and the error code of a refused upgrade; 101 when it was upgraded.
func dialStatus(t *testing.T, s *server, id string) (int, string) {
	t.Helper()
	return dialStatusAs(t, s, id, nil)
}

// dialStatusAs is dialStatus with request headers.
func dialStatusAs(t *testing.T, s *server, id string, h http.Header) (int, string) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.wsURL(id), h)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
		return resp.StatusCode, ""
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("HTTP %d without a JSON error: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body.Error.Code
}

// TestLimits_Connections fills the server's connection limits: in open
// mode by address (429), and in total (503), each refused at the upgrade
// with too_many_connections; a closed connection frees its place.
func TestLimits_Connections(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		s := startServer(t, "", serverOpts{web: web.Config{MaxConnsPerIP: 2}})
		a := s.rawDial(t, "c")
		s.rawDial(t, "c")
		if status, code := dialStatus(t, s, "c"); status != http.StatusTooManyRequests || code != session.CodeTooManyConns {
			t.Fatalf("third connection: HTTP %d %q, want 429 too_many_connections", status, code)
		}
		a.ws.Close()
		eventually(t, "the closed connection's place to free", func() bool {
			status, _ := dialStatus(t, s, "c")
			return status == http.StatusSwitchingProtocols
		})
	})
	t.Run("still to say hello, per address", func(t *testing.T) {
		// With tokens, where connections are not counted by address.
		s := startVerifyingServer(t, "", authConfig(), serverOpts{web: web.Config{MaxPendingPerIP: 2}})
		a := s.rawDial(t, "c")
		s.rawDial(t, "c")
		if status, code := dialStatus(t, s, "c"); status != http.StatusTooManyRequests || code != session.CodeTooManyConns {
			t.Fatalf("third connection before any hello: HTTP %d %q, want 429 too_many_connections", status, code)
		}
		// A hello accepted frees the place: connections that said who
		// they are count per user, not per address.
		a.send(&session.Hello{Version: session.ProtocolVersion, Client: "a", Rev: -1, Token: mint(t, "ann", "Ann", map[string]any{"c": "edit"}, nil)})
		expect[session.Welcome](a)
		eventually(t, "the place of the connection that said hello to free", func() bool {
			status, _ := dialStatus(t, s, "c")
			return status == http.StatusSwitchingProtocols
		})
	})
	t.Run("per address behind a trusted proxy", func(t *testing.T) {
		s := startServer(t, "", serverOpts{web: web.Config{MaxConnsPerIP: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
		ann := http.Header{"X-Forwarded-For": {"198.51.100.1"}}
		for range 2 {
			if status, _ := dialStatusAs(t, s, "c", ann); status != http.StatusSwitchingProtocols {
				t.Fatalf("ann's connection: HTTP %d", status)
			}
		}
		if status, _ := dialStatusAs(t, s, "c", ann); status != http.StatusTooManyRequests {
			t.Fatalf("ann's third connection: HTTP %d, want 429", status)
		}
		// Another user behind the same proxy is not ann; and a client
		// cannot become someone else by writing the header itself.
		if status, _ := dialStatusAs(t, s, "c", http.Header{"X-Forwarded-For": {"198.51.100.2"}}); status != http.StatusSwitchingProtocols {
			t.Fatalf("bob's connection: HTTP %d", status)
		}
		if status, _ := dialStatusAs(t, s, "c", http.Header{"X-Forwarded-For": {"198.51.100.9, 198.51.100.1"}}); status != http.StatusTooManyRequests {
			t.Fatalf("ann with a forged first hop: HTTP %d, want 429", status)
		}
	})
	t.Run("total", func(t *testing.T) {
		s := startServer(t, "", serverOpts{web: web.Config{MaxConns: 2}})
		s.rawDial(t, "c")
		s.rawDial(t, "d")
		if status, code := dialStatus(t, s, "e"); status != http.StatusServiceUnavailable || code != session.CodeTooManyConns {
			t.Fatalf("third connection: HTTP %d %q, want 503 too_many_connections", status, code)
		}
	})
}

// TestAuth_ConnectionsPerUser opens more connections for one token user
// than allowed: the one over is refused with too_many_connections and
// close 4029, another user is not affected, and a closed connection frees
// its place.
func TestAuth_ConnectionsPerUser(t *testing.T) {
	s := startVerifyingServer(t, "", authConfig(), serverOpts{session: session.Config{MaxConnsPerUser: 2}})
	tok := mint(t, "ann", "Ann", map[string]any{"*": "edit"}, nil)
	first, _ := s.rawJoin(t, "u1", session.Hello{Client: "a1", Rev: -1, Token: tok})
	s.rawJoin(t, "u2", session.Hello{Client: "a2", Rev: -1, Token: tok})
	third := s.rawDial(t, "u3")
	third.send(&session.Hello{Version: session.ProtocolVersion, Client: "a3", Rev: -1, Token: tok})
	code, errs := third.closed()
	if code != session.CloseRateLimited || len(errs) != 1 || errs[0].Code != session.CodeTooManyConns {
		t.Fatalf("third connection closed with %d after %+v, want 4029 after too_many_connections", code, errs)
	}
	s.rawJoin(t, "u3", session.Hello{Client: "b1", Rev: -1, Token: mint(t, "bob", "Bob", map[string]any{"*": "edit"}, nil)})
	first.ws.Close()
	eventually(t, "the closed connection's place to free", func() bool {
		r := s.rawDial(t, "u3")
		r.send(&session.Hello{Version: session.ProtocolVersion, Client: "a4", Rev: -1, Token: tok})
		_, ok := r.read().(*session.Welcome)
		return ok
	})
}

// TestLimits_OversizeFrameFlood has hostile clients open connection after
// connection, each sending an op frame one byte over the frame limit (half
// of them after hello, half before), while a Go client types: every
// oversize frame closes its connection with 1009 and changes nothing, and
// the typist's ops are all acknowledged in good time. The typist's ack p99
// is measured quiet first, for the log.
func TestLimits_OversizeFrameFlood(t *testing.T) {
	const (
		maxFrame = 64 << 10
		hostile  = 3
		typed    = 100
	)
	s := startServer(t, "", serverOpts{web: web.Config{MaxFrame: maxFrame}})
	const id = "oversize-flood"
	typist := s.dial(t, id, client.Options{Name: "typist"})
	quiet := typeWhile(t, typist, typed)

	// An op frame exactly one byte over the limit: a paste too large.
	var big []byte
	for n := maxFrame; len(big) != maxFrame+1; n-- {
		if n < maxFrame-64 {
			t.Fatalf("no op frame of %d bytes", maxFrame+1)
		}
		var err error
		if big, err = session.Encode(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, strings.Repeat("x", n))}); err != nil {
			t.Fatal(err)
		}
	}
	// Each flooder reconnects until stop closes and reports how its
	// connections ended: close codes, or an error text when a connection
	// failed otherwise.
	type tally struct {
		sent  int
		codes map[int]int
		other []string
	}
	stop := make(chan struct{})
	tallies := make(chan tally, hostile)
	for f := range hostile {
		go func() {
			tl := tally{codes: map[int]int{}}
			defer func() { tallies <- tl }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ws, _, err := websocket.DefaultDialer.Dial(s.wsURL(id), nil)
				if err != nil {
					tl.other = append(tl.other, "dial: "+err.Error())
					return
				}
				if (f+i)%2 == 0 {
					hello, _ := session.Encode(&session.Hello{Version: session.ProtocolVersion, Client: fmt.Sprintf("hostile-%d-%d", f, i), Rev: -1})
					ws.WriteMessage(websocket.BinaryMessage, hello)
				}
				if err := ws.WriteMessage(websocket.BinaryMessage, big); err != nil {
					tl.other = append(tl.other, "write: "+err.Error())
					ws.Close()
					continue
				}
				tl.sent++
				ws.SetReadDeadline(time.Now().Add(rawTimeout))
				for {
					_, _, err := ws.ReadMessage()
					if err == nil {
						continue // the welcome, others' presence
					}
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						tl.codes[ce.Code]++
					} else {
						tl.other = append(tl.other, err.Error())
					}
					break
				}
				ws.Close()
			}
		}()
	}
	loud := typeWhile(t, typist, typed)
	close(stop)
	total := tally{codes: map[int]int{}}
	for range hostile {
		tl := <-tallies
		total.sent += tl.sent
		for code, n := range tl.codes {
			total.codes[code] += n
		}
		total.other = append(total.other, tl.other...)
	}
	t.Logf("typist's ack p99: %v quiet, %v during the flood of %d oversize frames", quiet, loud, total.sent)

	if total.sent < 2*hostile || total.codes[websocket.CloseMessageTooBig] != total.sent || len(total.other) > 0 {
		t.Fatalf("%d oversize frames sent; connections closed with %v, and failed with %q; want every one closed with 1009",
			total.sent, total.codes, total.other)
	}
	if loud > 250*time.Millisecond {
		t.Fatalf("typist's ack p99 %v during the flood (%v quiet)", loud, quiet)
	}
	waitSynced(t, typist)
	content, rev := s.content(t, id)
	waitRev(t, rev, typist)
	if want := strings.Repeat("k", 2*typed); content.Text() != want || rev != 2*typed || !typist.Delta().Equal(content) {
		t.Fatalf("server has %d characters at rev %d, typist %d; want the typist's %d", len(content.Text()), rev, len(typist.Text()), 2*typed)
	}
}

// TestLimits_RESTWrites checks the REST write rate: one user over it gets
// 429 rate_limited with Retry-After, another user is not affected, and the
// bucket fills again with time.
func TestLimits_RESTWrites(t *testing.T) {
	s := startVerifyingServer(t, "", authConfig(), serverOpts{web: web.Config{WriteRate: 3}})
	edit := map[string]any{"*": "edit"}
	ann, bob := mint(t, "ann", "Ann", edit, nil), mint(t, "bob", "Bob", edit, nil)
	op := func(rev int) map[string]any {
		return map[string]any{"rev": rev, "delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}}
	}
	must(t, s.callAs(t, ann, "POST", "/v1/docs", map[string]any{"id": "notes"}), http.StatusCreated)
	must(t, s.callAs(t, ann, "POST", "/v1/docs/notes/ops", op(0)), http.StatusOK)
	must(t, s.callAs(t, ann, "POST", "/v1/docs/notes/ops", op(1)), http.StatusOK)
	got := s.callAs(t, ann, "POST", "/v1/docs/notes/ops", op(2))
	if got.status != http.StatusTooManyRequests || got.errorCode(t) != session.CodeRateLimited || got.header.Get("Retry-After") == "" {
		t.Fatalf("ann's fourth write: HTTP %d %s (Retry-After %q), want 429 rate_limited", got.status, got.body, got.header.Get("Retry-After"))
	}
	must(t, s.callAs(t, bob, "POST", "/v1/docs/notes/ops", op(2)), http.StatusOK)
	time.Sleep(400 * time.Millisecond) // a write comes back every third of a second
	must(t, s.callAs(t, ann, "POST", "/v1/docs/notes/ops", op(3)), http.StatusOK)
	if d, _ := s.content(t, "notes"); d.Text() != "xxxx" {
		t.Errorf("content %q: a refused write was applied", d.Text())
	}
}
