package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
	"github.com/cowrite/cowrite/session/client"
	"github.com/cowrite/cowrite/web"
)

// server is a Cowrite server running in the test process: the real store
// on a real directory, the real session manager and HTTP surface, on a
// real socket.
type server struct {
	t       testing.TB
	dir     string
	store   *persist.Store
	manager *session.Manager
	web     *web.Server
	http    *httptest.Server
}

type serverOpts struct {
	session session.Config
	web     web.Config

	// addr is the address to listen on, so that a test can restart a
	// server on the port of the one it stopped. Empty means any port of
	// the loopback.
	addr string
}

// startServer starts a server on dir (a new temporary one when empty) and
// stops it when the test ends.
func startServer(t testing.TB, dir string, o serverOpts) *server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	store, err := persist.Open(context.Background(), persist.Options{Dir: dir, Logger: log})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	sc := o.session
	sc.Store, sc.Logger = store, &log
	m := session.NewManager(sc)
	wc := o.web
	wc.Manager, wc.Logger = m, &log
	if v := wc.Verifier; v != nil && wc.Revoke == nil {
		// As cowrite serve does: revocations are stored, and loaded at start.
		revs, err := store.Revocations(context.Background())
		if err != nil {
			t.Fatalf("read revocations: %v", err)
		}
		for _, r := range revs {
			v.Revoke(auth.Revocation{User: r.User, Session: r.Session, At: r.At})
		}
		wc.Revoke = func(ctx context.Context, r auth.Revocation) error {
			return store.Revoke(ctx, persist.Revocation{User: r.User, Session: r.Session, At: r.At})
		}
	}
	h := web.New(wc)
	hs := httptest.NewUnstartedServer(h)
	if o.addr != "" {
		hs.Listener.Close()
		hs.Listener = listen(t, o.addr)
	}
	hs.Start()
	s := &server{t: t, dir: dir, store: store, manager: m, web: h, http: hs}
	t.Cleanup(s.stop)
	return s
}

// listen listens on addr, waiting a moment for the port to be free: the
// socket of a server stopped just before may linger.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	var err error
	for try := 0; ; try++ {
		ln, err = net.Listen("tcp", addr)
		if err == nil || try == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	return ln
}

// stop shuts the server down gracefully, as on SIGTERM. It is safe to call
// more than once.
func (s *server) stop() {
	if s.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.manager.Close(ctx); err != nil {
		s.t.Errorf("close manager: %v", err)
	}
	s.web.Close(ctx)
	s.http.Close()
	if err := s.store.Close(); err != nil {
		s.t.Errorf("close store: %v", err)
	}
	s.store = nil
}

// wsURL returns the WebSocket endpoint of a document.
func (s *server) wsURL(id string) string {
	return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/v1/docs/" + id + "/ws"
}

// dial connects a Go client to a document.
func (s *server) dial(t testing.TB, id string, o client.Options) *client.Client {
	t.Helper()
	o.URL = s.wsURL(id)
	if o.Name == "" {
		o.Name = "tester"
	}
	return dialClient(t, o)
}

// dialClient connects a Go client to o.URL and closes it when the test
// ends.
func dialClient(t testing.TB, o client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, o)
	if err != nil {
		t.Fatalf("dial %s: %v", o.URL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitSynced(t testing.TB, clients ...*client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range clients {
		if err := c.WaitSynced(ctx); err != nil {
			t.Fatalf("client %s not synced: %v (status %v)", c.ID(), err, c.Status())
		}
	}
}

// testSeed returns the seed of a randomised test: $COWRITE_SEED when set,
// else a fresh one. It logs the seed so that a failure can be replayed.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COWRITE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COWRITE_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with COWRITE_SEED=%d)", seed, seed)
	return seed
}

// del returns a change that deletes n units at pos.
func del(pos, n int) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Delete(n)
	return d
}

// content returns a document's latest content and revision as the server
// has them.
func (s *server) content(t testing.TB, id string) (ot.Delta, doc.Rev) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, meta, err := s.manager.Get(ctx, id, -1)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return d, meta.Rev
}

// eventually polls cond until it holds, failing the test after a generous
// timeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawTimeout bounds every read of a raw client.
const rawTimeout = 15 * time.Second

// raw is a protocol client without the Go client's logic: the test sends
// every frame and reads every answer itself, so it controls exactly what
// the server sees and when.
type raw struct {
	t  testing.TB
	ws *websocket.Conn
}

// rawDial opens a WebSocket to a document, without hello.
func (s *server) rawDial(t testing.TB, id string) *raw {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(s.wsURL(id), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", id, err, status)
	}
	ws.SetReadLimit(64 << 20)
	t.Cleanup(func() { ws.Close() })
	return &raw{t: t, ws: ws}
}

// rawJoin opens a WebSocket to a document, says hello and returns the
// welcome. A hello without Version gets the current one.
func (s *server) rawJoin(t testing.TB, id string, h session.Hello) (*raw, *session.Welcome) {
	t.Helper()
	r := s.rawDial(t, id)
	if h.Version == 0 {
		h.Version = session.ProtocolVersion
	}
	r.send(&h)
	return r, expect[session.Welcome](r)
}

// send encodes and sends one message.
func (r *raw) send(msg any) {
	r.t.Helper()
	frame, err := session.Encode(msg)
	if err != nil {
		r.t.Fatalf("encode %T: %v", msg, err)
	}
	r.sendFrame(frame)
}

// sendFrame sends bytes as one binary frame.
func (r *raw) sendFrame(frame []byte) {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// next reads and decodes one message. The error is the connection's end
// (a *websocket.CloseError when the server closed it properly).
func (r *raw) next() (any, error) {
	r.ws.SetReadDeadline(time.Now().Add(rawTimeout))
	typ, frame, err := r.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, fmt.Errorf("a %d frame from the server, want binary", typ)
	}
	msg, err := session.DecodeServer(frame)
	if err != nil {
		return nil, fmt.Errorf("decode server frame: %w", err)
	}
	return msg, nil
}

// read reads one message and fails the test when the connection ended.
func (r *raw) read() any {
	r.t.Helper()
	msg, err := r.next()
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return msg
}

// expect reads until a message of type T arrives, skipping others'
// presence and ops, and fails on anything else (an error, most of all).
func expect[T any](r *raw) *T {
	r.t.Helper()
	for {
		switch m := r.read().(type) {
		case *T:
			return m
		case *session.Presence, *session.Leave, *session.Remote:
		default:
			r.t.Fatalf("got %T %+v, want %T", m, m, new(T))
		}
	}
}

// closed reads until the connection ends and returns its close code
// (websocket.CloseAbnormalClosure when it ended without a close frame) and
// the errors the server sent on the way.
func (r *raw) closed() (int, []session.Error) {
	r.t.Helper()
	var errs []session.Error
	for {
		msg, err := r.next()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, errs
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.t.Fatalf("connection still open after %v", rawTimeout)
			}
			return websocket.CloseAbnormalClosure, errs
		}
		if e, ok := msg.(*session.Error); ok {
			errs = append(errs, *e)
		}
	}
}

// cut drops the connection without a close frame, as a network failure
// would.
func (r *raw) cut() { r.ws.UnderlyingConn().Close() }
