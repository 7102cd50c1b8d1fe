package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/cowrite/cowrite/session/client"
)

// TestClient_CloseWhileWaiting checks that a Go client closed while it
// waits to reconnect tells its OnEvent that it closed, as it does when it
// closes for any other reason.
func TestClient_CloseWhileWaiting(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	var mu sync.Mutex
	var statuses []client.Status
	c := s.dial(t, "notes", client.Options{MinBackoff: time.Hour, MaxBackoff: time.Hour, OnEvent: func(e client.Event) {
		if e.Status != nil {
			mu.Lock()
			statuses = append(statuses, *e.Status)
			mu.Unlock()
		}
	}})
	s.stop() // the client loses its connection and waits an hour to retry
	eventually(t, "the client to go offline", func() bool { return c.Status() != client.Saved })
	c.Close()
	eventually(t, "a Closed event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(statuses) > 0 && statuses[len(statuses)-1] == client.Closed
	})
}
