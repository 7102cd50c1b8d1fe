package e2e

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session"
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
	h := web.New(wc)
	s := &server{t: t, dir: dir, store: store, manager: m, web: h, http: httptest.NewServer(h)}
	t.Cleanup(s.stop)
	return s
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, o)
	if err != nil {
		t.Fatalf("dial %s: %v", id, err)
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
