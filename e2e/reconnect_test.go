package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
)

// TestReconnect_Cut cuts a raw client's connection at the three moments
// that matter for an op in flight, reconnects it by the protocol's rules
// and checks that the op is applied exactly once.
func TestReconnect_Cut(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	for _, tc := range []struct {
		name    string
		cut     string // before_send, after_apply or after_ack
		applied bool   // what welcome.seq must say
	}{
		{name: "before_the_op_reaches_the_server", cut: "before_send"},
		{name: "after_apply_before_the_ack_is_read", cut: "after_apply", applied: true},
		{name: "after_the_ack", cut: "after_ack", applied: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "cut-" + tc.cut
			other, _ := s.rawJoin(t, id, session.Hello{Client: "other", Rev: -1})
			other.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "hello world")})
			expect[session.Ack](other)

			me, w := s.rawJoin(t, id, session.Hello{Client: "me", Rev: -1})
			if w.Rev != 1 || w.Snapshot == nil || w.Snapshot.Text() != "hello world" {
				t.Fatalf("welcome: rev %d snapshot %v", w.Rev, w.Snapshot)
			}
			op := &session.Submit{Seq: 1, Base: w.Rev, Delta: ins(5, ",")}
			hello := session.Hello{Client: "me", Rev: w.Rev, Epoch: w.Epoch, Pending: op.Seq}
			var opRev doc.Rev // the revision the op became, once known
			switch tc.cut {
			case "before_send":
				me.cut()
			case "after_apply":
				me.send(op)
				// The other client sees the op once it is durable and
				// sequenced; the author's ack is then on its way.
				if r := expect[session.Remote](other); r.Client != "me" || r.Seq != 1 {
					t.Fatalf("other got %+v", r)
				}
				me.cut()
			case "after_ack":
				me.send(op)
				ack := expect[session.Ack](me)
				opRev, hello.Rev, hello.Pending = ack.Rev, ack.Rev, 0
				me.cut()
			}
			// Someone edits while the client is away.
			other.send(&session.Submit{Seq: 2, Base: 1, Delta: ins(11, "!")})
			expect[session.Ack](other)

			me, w = s.rawJoin(t, id, hello)
			if applied := w.Seq >= op.Seq; applied != tc.applied {
				t.Fatalf("welcome.seq %d: applied %v, want %v", w.Seq, applied, tc.applied)
			}
			if w.Snapshot != nil || w.Reset {
				t.Fatalf("welcome has a snapshot (reset %v), want ops", w.Reset)
			}
			checkCatchUp(t, s, id, hello.Rev, w)
			var own *session.Remote
			for i := range w.Ops {
				if w.Ops[i].Client == "me" {
					own = &w.Ops[i]
				}
			}
			switch tc.cut {
			case "before_send":
				// Not applied: resend exactly the same op.
				me.send(op)
				ack := expect[session.Ack](me)
				if ack.Seq != op.Seq || ack.Rev != 3 {
					t.Fatalf("ack %+v, want seq 1 rev 3", ack)
				}
				opRev = ack.Rev
			case "after_apply":
				// Applied, ack lost: the catch-up holds the op, and it
				// stands for the ack.
				if own == nil || own.Seq != op.Seq {
					t.Fatalf("catch-up %+v lacks the client's own op", w.Ops)
				}
				opRev = own.Rev
			case "after_ack":
				if own != nil {
					t.Fatalf("catch-up resends the acknowledged op: %+v", own)
				}
			}
			// A client that resends anyway is answered with the first
			// revision, and nothing is applied twice.
			me.send(op)
			if ack := expect[session.Ack](me); ack.Seq != op.Seq || ack.Rev != opRev {
				t.Fatalf("resend acked as %+v, first applied as rev %d", ack, opRev)
			}
			content, rev := s.content(t, id)
			if content.Text() != "hello, world!" || rev != 3 {
				t.Fatalf("server has %q at rev %d, want \"hello, world!\" at 3", content.Text(), rev)
			}
		})
	}
}

// TestReconnect_Takeover reconnects a client whose old connection the
// server still holds open, as when the network failed silently: the new
// connection takes over, the old one is closed with 1000, the others see no
// leave, and the op sent on the old connection counts once.
func TestReconnect_Takeover(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	const id = "takeover"
	other, _ := s.rawJoin(t, id, session.Hello{Client: "other", Rev: -1})
	old, w := s.rawJoin(t, id, session.Hello{Client: "me", Rev: -1})
	expect[session.Presence](other)
	old.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, "one")})
	if r := expect[session.Remote](other); r.Client != "me" {
		t.Fatalf("other got %+v", r)
	}

	me, w2 := s.rawJoin(t, id, session.Hello{Client: "me", Rev: w.Rev, Epoch: w.Epoch, Pending: 1})
	if w2.Seq != 1 || len(w2.Ops) != 1 || w2.Ops[0].Client != "me" || w2.Ops[0].Seq != 1 {
		t.Fatalf("welcome: seq %d ops %+v", w2.Seq, w2.Ops)
	}
	if code, _ := old.closed(); code != websocket.CloseNormalClosure {
		t.Fatalf("old connection closed with %d, want %d", code, websocket.CloseNormalClosure)
	}
	me.send(&session.Submit{Seq: 2, Base: w2.Rev, Delta: ins(3, " two")})
	expect[session.Ack](me)
	// The other client sees the newcomer announced and its op, and no
	// leave.
	for {
		msg := other.read()
		if l, ok := msg.(*session.Leave); ok {
			t.Fatalf("other got %+v", l)
		}
		if r, ok := msg.(*session.Remote); ok && r.Seq == 2 {
			break
		}
	}
	if content, rev := s.content(t, id); content.Text() != "one two" || rev != 2 {
		t.Fatalf("server has %q at %d", content.Text(), rev)
	}
}

// checkCatchUp checks that a welcome's ops lead from the document at rev
// to the document at the welcome's revision.
func checkCatchUp(t *testing.T, s *server, id string, rev doc.Rev, w *session.Welcome) {
	t.Helper()
	ctx := context.Background()
	d, _, err := s.manager.Get(ctx, id, rev)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range w.Ops {
		if r.Rev != rev+doc.Rev(i)+1 {
			t.Fatalf("catch-up op %d has rev %d, want %d", i, r.Rev, rev+doc.Rev(i)+1)
		}
		if d, err = ot.Apply(d, r.Delta); err != nil {
			t.Fatalf("catch-up op %d: %v", i, err)
		}
	}
	want, _, err := s.manager.Get(ctx, id, w.Rev)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Equal(want) {
		t.Fatalf("catch-up from %d gives %v, want %v", rev, d, want)
	}
}

// A proxy forwards TCP connections to a server, and lets a test cut them,
// refuse new ones, drop the bytes sent one way, or point new connections at
// another server (one restarted on the same directory).
type proxy struct {
	ln net.Listener
	wg sync.WaitGroup

	mu               sync.Mutex
	target           string
	conns            map[*proxyConn]bool
	refuse           bool
	muteUp, muteDown bool
}

type proxyConn struct {
	client, server net.Conn
	up, down       atomic.Bool // muted: client to server, server to client
	once           sync.Once
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// startProxy forwards a new local port to the server's and stops when the
// test ends.
func startProxy(t *testing.T, s *server) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: s.http.Listener.Addr().String(), conns: map[*proxyConn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

// url returns a document's WebSocket endpoint through the proxy.
func (p *proxy) url(id string) string {
	return "ws://" + p.ln.Addr().String() + "/v1/docs/" + id + "/ws"
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		cc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target, refuse, up, down := p.target, p.refuse, p.muteUp, p.muteDown
		p.mu.Unlock()
		if refuse {
			cc.Close()
			continue
		}
		sc, err := net.Dial("tcp", target)
		if err != nil {
			cc.Close()
			continue
		}
		c := &proxyConn{client: cc, server: sc}
		c.up.Store(up)
		c.down.Store(down)
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, cc, sc, &c.up)
		go p.pipe(c, sc, cc, &c.down)
	}
}

// pipe copies from src to dst until either ends; while muted it drops
// what it reads.
func (p *proxy) pipe(c *proxyConn, src, dst net.Conn, muted *atomic.Bool) {
	defer p.wg.Done()
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !muted.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut drops every open connection and reports how many there were.
func (p *proxy) cut() int {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	return len(conns)
}

// cutOne drops one open connection chosen at random.
func (p *proxy) cutOne(rng *rand.Rand) bool {
	p.mu.Lock()
	var conns []*proxyConn
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	if len(conns) == 0 {
		return false
	}
	conns[rng.IntN(len(conns))].close()
	return true
}

// setRefuse makes the proxy close new connections at once, or stop doing
// so.
func (p *proxy) setRefuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// setTarget sends new connections to another server.
func (p *proxy) setTarget(s *server) {
	p.mu.Lock()
	p.target = s.http.Listener.Addr().String()
	p.mu.Unlock()
}

// setMute drops, or stops dropping, what the clients send (up) and what
// the server sends (down), on open connections and new ones.
func (p *proxy) setMute(up, down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.muteUp, p.muteDown = up, down
	for c := range p.conns {
		c.up.Store(up)
		c.down.Store(down)
	}
}

// dialVia connects a Go client through a proxy, with quick reconnects.
func dialVia(t *testing.T, p *proxy, id string, o client.Options) *client.Client {
	t.Helper()
	o.URL = p.url(id)
	if o.MinBackoff == 0 {
		o.MinBackoff, o.MaxBackoff = 5*time.Millisecond, 50*time.Millisecond
	}
	return dialClient(t, o)
}

// tokenWidth is the width of the tokens the chaos test inserts. Every edit
// inserts whole tokens at multiples of it, or formats such a range, so
// every position that is a multiple of it is a token boundary on every
// replica, whatever edits arrived concurrently.
const tokenWidth = 8

func token(client, i int) string { return fmt.Sprintf("<%d:%04d>", client, i) }

// TestReconnect_RandomCuts has Go clients type through a proxy that drops
// connections at random moments, and restarts the server gracefully halfway
// through, and checks that every edit is applied exactly once and that
// everyone converges.
func TestReconnect_RandomCuts(t *testing.T) {
	seed := testSeed(t)
	s := startServer(t, "", serverOpts{})
	p := startProxy(t, s)
	const id, writers, edits = "chaos", 4, 200
	clients := make([]*client.Client, writers+1)
	for i := range clients {
		clients[i] = dialVia(t, p, id, client.Options{Name: fmt.Sprintf("w%d", i)})
	}
	// The last client only watches.

	stop := make(chan struct{})
	var cuts atomic.Int64
	chaosDone := make(chan struct{})
	go func() {
		defer close(chaosDone)
		rng := rand.New(rand.NewPCG(seed, 1))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(2+rng.IntN(15)) * time.Millisecond):
				if p.cutOne(rng) {
					cuts.Add(1)
				}
			}
		}
	}()

	var wg sync.WaitGroup
	var submitted atomic.Int64
	errs := make(chan error, writers)
	for w, c := range clients[:writers] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)+2))
			for i := range edits {
				n := c.Len() / tokenWidth
				var d ot.Delta
				if rng.IntN(4) == 0 && n > 0 {
					// Format a run of tokens, or clear the format.
					from := rng.IntN(n)
					k := 1 + rng.IntN(n-from)
					var bold any = true
					if rng.IntN(2) == 0 {
						bold = nil
					}
					d.Retain(from*tokenWidth, nil).Retain(k*tokenWidth, ot.Attributes{"bold": bold})
					if err := c.Submit(d.Canonical()); err != nil {
						errs <- fmt.Errorf("writer %d format: %w", w, err)
						return
					}
					d = ot.Delta{}
				}
				// The document only grows, so a position within the length
				// read above still fits when the edit is applied.
				d.Retain(rng.IntN(n+1)*tokenWidth, nil).Insert(token(w, i), nil)
				if err := c.Submit(d.Canonical()); err != nil {
					errs <- fmt.Errorf("writer %d insert: %w", w, err)
					return
				}
				submitted.Add(1)
				time.Sleep(time.Duration(rng.IntN(4000)) * time.Microsecond)
			}
		}()
	}
	// Halfway through, the server restarts on the same directory.
	eventually(t, "half the edits", func() bool { return submitted.Load() >= writers*edits/2 })
	s.stop()
	s = startServer(t, s.dir, serverOpts{})
	p.setTarget(s)

	wg.Wait()
	close(stop)
	<-chaosDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d connections cut", cuts.Load())

	waitSynced(t, clients...)
	content, rev := s.content(t, id)
	waitRev(t, rev, clients...)
	for i, c := range clients {
		if !c.Delta().Equal(content) {
			t.Fatalf("client %d diverged:\n client %v\n server %v", i, c.Delta(), content)
		}
		if u := c.Unsent(); len(u) > 0 {
			t.Fatalf("client %d set edits aside: %v", i, u)
		}
	}
	text := content.Text()
	if len(text) != writers*edits*tokenWidth {
		t.Fatalf("text has %d bytes, want %d tokens of %d", len(text), writers*edits, tokenWidth)
	}
	for w := range writers {
		for i := range edits {
			if n := strings.Count(text, token(w, i)); n != 1 {
				t.Fatalf("token %s appears %d times", token(w, i), n)
			}
		}
	}
}

// waitRev waits until every client has revision rev.
func waitRev(t testing.TB, rev doc.Rev, clients ...*client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range clients {
		if err := c.WaitRev(ctx, rev); err != nil {
			t.Fatalf("client %s at rev %d, want %d: %v", c.ID(), c.Rev(), rev, err)
		}
	}
}

// TestCatchUp_FromStore checks catch-up beyond the room's in-memory window:
// an op made on a revision the room no longer holds is transformed over
// ops read from the store, and a client far behind is caught up with ops.
func TestCatchUp_FromStore(t *testing.T) {
	// The room keeps between 4 and 8 recent ops in memory.
	s := startServer(t, "", serverOpts{session: session.Config{Window: 4, Batch: 2}})
	const id, edits = "window", 40
	a, w := s.rawJoin(t, id, session.Hello{Client: "a", Rev: -1})
	a.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, "0123456789")})
	rev := expect[session.Ack](a).Rev
	b, wb := s.rawJoin(t, id, session.Hello{Client: "b", Rev: -1})
	if wb.Rev != rev || wb.Snapshot.Text() != "0123456789" {
		t.Fatalf("b's welcome: %d %v", wb.Rev, wb.Snapshot)
	}

	// a prepends and appends while b, disconnected or just slow, edits the
	// middle of revision 1.
	n := 10
	for i := range edits {
		pos := 0
		if i%2 == 1 {
			pos = n
		}
		a.send(&session.Submit{Seq: uint64(i) + 2, Base: rev, Delta: ins(pos, string("ab"[i%2]))})
		rev = expect[session.Ack](a).Rev
		n++
	}
	b.send(&session.Submit{Seq: 1, Base: wb.Rev, Delta: ins(5, "X")})
	ack := expect[session.Ack](b)
	want := strings.Repeat("a", edits/2) + "01234X56789" + strings.Repeat("b", edits/2)
	if content, now := s.content(t, id); content.Text() != want || ack.Rev != now || now != rev+1 {
		t.Fatalf("server has %q at %d (ack %d), want %q at %d", content.Text(), now, ack.Rev, want, rev+1)
	}

	// A client that stopped at revision 1 is caught up with every op
	// since, from the store.
	b.cut()
	_, w = s.rawJoin(t, id, session.Hello{Client: "b", Rev: wb.Rev, Epoch: wb.Epoch})
	if w.Reset || w.Snapshot != nil || len(w.Ops) != int(w.Rev-wb.Rev) {
		t.Fatalf("welcome from rev %d: %d ops, snapshot %v", wb.Rev, len(w.Ops), w.Snapshot != nil)
	}
	checkCatchUp(t, s, id, wb.Rev, w)
}

// TestCatchUp_Reset checks that a client further behind than MaxCatchUp gets
// a snapshot with reset, and that the Go client then rebases its pending
// edits without losing or doubling any: whether its op in flight had been
// applied (its ack lost) or had never arrived.
func TestCatchUp_Reset(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{MaxCatchUp: 10, Window: 4, Batch: 2}})

	t.Run("raw", func(t *testing.T) {
		const id = "reset-raw"
		r, w := s.rawJoin(t, id, session.Hello{Client: "r", Rev: -1})
		r.cut()
		other := s.dial(t, id, client.Options{Name: "other"})
		for i := range 11 {
			if err := other.Submit(ins(i, "o")); err != nil {
				t.Fatal(err)
			}
			waitSynced(t, other)
		}
		content, rev := s.content(t, id)
		for _, h := range []session.Hello{
			{Client: "r", Rev: w.Rev, Epoch: w.Epoch},         // 11 ops behind
			{Client: "r", Rev: rev, Epoch: "another-history"}, // another epoch
			{Client: "r", Rev: rev + 5, Epoch: w.Epoch},       // ahead of the server
		} {
			_, w2 := s.rawJoin(t, id, h)
			if !w2.Reset || w2.Snapshot == nil || len(w2.Ops) != 0 || w2.Rev != rev || !w2.Snapshot.Equal(content) {
				t.Fatalf("hello %+v: reset %v, %d ops, snapshot %v at %d; server %v at %d", h, w2.Reset, len(w2.Ops), w2.Snapshot, w2.Rev, content, rev)
			}
		}
	})

	for _, tc := range []struct {
		name    string
		applied bool // whether the op in flight reaches the server
	}{
		{name: "in_flight_applied", applied: true},
		{name: "in_flight_lost", applied: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "reset-" + tc.name
			p := startProxy(t, s)
			x := dialVia(t, p, id, client.Options{ClientID: "x", Name: "x"})
			other := s.dial(t, id, client.Options{Name: "other"})
			if err := x.Submit(ins(0, "[x1]")); err != nil {
				t.Fatal(err)
			}
			waitSynced(t, x)
			_, before := s.content(t, id)

			// An op goes out, and either its ack or the op itself is lost
			// on the way; then the connection drops and stays down.
			p.setMute(!tc.applied, tc.applied)
			if err := x.Submit(ins(4, "[x2]")); err != nil {
				t.Fatal(err)
			}
			if tc.applied {
				eventually(t, "the op to be applied", func() bool {
					_, rev := s.content(t, id)
					return rev > before
				})
			} else {
				time.Sleep(20 * time.Millisecond)
			}
			p.setRefuse(true)
			p.cut()
			p.setMute(false, false)
			eventually(t, "x to notice", func() bool { return x.Status() == client.Offline })

			// x edits offline while the others move on by more than
			// MaxCatchUp ops.
			if err := x.Submit(ins(0, "[x3]")); err != nil {
				t.Fatal(err)
			}
			for i := range 12 {
				if err := other.Submit(ins(other.Len(), fmt.Sprintf("(o%d)", i))); err != nil {
					t.Fatal(err)
				}
				waitSynced(t, other)
			}

			p.setRefuse(false)
			waitSynced(t, x, other)
			content, rev := s.content(t, id)
			waitRev(t, rev, x, other)
			for _, c := range []*client.Client{x, other} {
				if !c.Delta().Equal(content) {
					t.Fatalf("client %s has %q, server %q", c.ID(), c.Text(), content.Text())
				}
			}
			if u := x.Unsent(); len(u) > 0 {
				t.Fatalf("x set edits aside: %v", u)
			}
			text := content.Text()
			for _, tok := range []string{"[x1]", "[x2]", "[x3]", "(o0)", "(o11)"} {
				if n := strings.Count(text, tok); n != 1 {
					t.Fatalf("%s appears %d times in %q", tok, n, text)
				}
			}
			// An op the server never saw is rebased after the others' ops,
			// which were sequenced first and win the tie at its position.
			others := ""
			for i := range 12 {
				others += fmt.Sprintf("(o%d)", i)
			}
			want := "[x3][x1][x2]" + others
			if !tc.applied {
				want = "[x3][x1]" + others + "[x2]"
			}
			if text != want {
				t.Fatalf("text %q, want %q", text, want)
			}
		})
	}
}

// TestIdleUnload checks that a room unloads once everyone left, and that
// joins racing the unload see the latest state.
func TestIdleUnload(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	const idle = 100 * time.Millisecond
	s := startServer(t, "", serverOpts{session: session.Config{IdleUnload: idle}})
	const id = "idle"
	c := s.dial(t, id, client.Options{Name: "first"})
	if err := c.Submit(ins(0, "<0>")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, c)
	c.Close()
	eventually(t, "the room to unload", func() bool { return s.manager.Rooms() == 0 })

	want := "<0>"
	for i := 1; i <= 12; i++ {
		// Join around the moment the room unloads.
		time.Sleep(idle - 20*time.Millisecond + time.Duration(rng.IntN(40))*time.Millisecond)
		c := s.dial(t, id, client.Options{Name: fmt.Sprintf("c%d", i)})
		if c.Text() != want {
			t.Fatalf("join %d sees %q, want %q", i, c.Text(), want)
		}
		tok := fmt.Sprintf("<%d>", i)
		if err := c.Submit(ins(c.Len(), tok)); err != nil {
			t.Fatal(err)
		}
		waitSynced(t, c)
		want += tok
		c.Close()
	}
	eventually(t, "the room to unload", func() bool { return s.manager.Rooms() == 0 })
	if content, _ := s.content(t, id); content.Text() != want {
		t.Fatalf("stored %q, want %q", content.Text(), want)
	}
	_, w := s.rawJoin(t, id, session.Hello{Client: "last", Rev: -1})
	if w.Snapshot == nil || w.Snapshot.Text() != want {
		t.Fatalf("reloaded %v, want %q", w.Snapshot, want)
	}
}
