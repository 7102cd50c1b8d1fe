package e2e

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
)

// A Go client typing faster than the server's op rate is slowed down, not
// robbed: every edit arrives exactly once and none is set aside.
func TestClient_RateLimitedResends(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{OpRate: 20}})
	var reconnects atomic.Int32
	c := s.dial(t, "rated", client.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnEvent: func(e client.Event) {
			if e.Status != nil && *e.Status == client.Offline {
				reconnects.Add(1)
			}
		}})
	want := strings.Repeat("x", 120)
	for i := range want {
		if err := c.Submit(ins(i, "x")); err != nil {
			t.Fatal(err)
		}
		// One at a time, so that many ops leave while the bucket is empty.
		waitSynced(t, c)
	}
	waitSynced(t, c)
	if got := c.Text(); got != want {
		t.Fatalf("client has %d characters, want %d", len(got), len(want))
	}
	if reconnects.Load() == 0 {
		t.Fatal("the server never refused an op: the test did not reach the rate")
	}
	t.Logf("%d reconnects after rate_limited", reconnects.Load())
	if u := c.Unsent(); len(u) != 0 {
		t.Fatalf("%d edits set aside", len(u))
	}
	content, _, err := s.manager.Get(t.Context(), "rated", -1)
	if err != nil || content.Text() != want {
		t.Fatalf("server has %q, %v", content.Text(), err)
	}
}
