package e2e

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/web"
)

// TestReadyz checks that /readyz answers 200 while the store writes and
// 503 once it cannot.
func TestReadyz(t *testing.T) {
	var store atomic.Pointer[persist.Store]
	s := startServer(t, "", serverOpts{web: web.Config{Ready: func(ctx context.Context) error { return store.Load().Ready(ctx) }}})
	store.Store(s.store)
	status := func() int {
		t.Helper()
		resp, err := http.Get(s.http.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusOK {
		t.Fatalf("/readyz with a writable store: %d, want 200", got)
	}
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a closed store: %d, want 503", got)
	}
}
