package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cowrite/cowrite/doc/trace"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session/client"
)

// TestTraces_Sequential replays every sequential editing trace through one
// Go client over a WebSocket, keystroke by keystroke as fast as the client
// takes them, and checks that the client and the server end with the
// trace's final text. -short leaves out the two longest traces.
func TestTraces_Sequential(t *testing.T) {
	paths, err := trace.Sequential()
	if errors.Is(err, trace.ErrNoTraces) && os.Getenv("COWRITE_STRICT") != "1" {
		t.Skipf("no traces (set COWRITE_STRICT=1 to make this fail): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", serverOpts{})
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".json.gz")
		t.Run(name, func(t *testing.T) {
			tr, err := trace.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if testing.Short() && tr.Patches() > 30000 {
				t.Skipf("%d patches: long under -short", tr.Patches())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var start ot.Delta
			start.Insert(tr.StartContent, nil)
			if _, err := s.manager.Create(ctx, name, "", start); err != nil {
				t.Fatal(err)
			}
			c := s.dial(t, name, client.Options{Name: name})
			for i, d := range tr.Deltas() {
				if len(d.Ops) == 0 {
					continue
				}
				if err := c.Submit(d); err != nil {
					t.Fatalf("patch %d: %v", i, err)
				}
			}
			waitSynced(t, c)
			if got := c.Text(); got != tr.EndContent {
				t.Fatalf("client ends with %d bytes, want %d; they differ from byte %d", len(got), len(tr.EndContent), firstDiff(got, tr.EndContent))
			}
			content, rev := s.content(t, name)
			if got := content.Text(); got != tr.EndContent {
				t.Fatalf("server ends with %d bytes, want %d; they differ from byte %d", len(got), len(tr.EndContent), firstDiff(got, tr.EndContent))
			}
			if rev != c.Rev() {
				t.Fatalf("server at rev %d, client at %d", rev, c.Rev())
			}
			t.Logf("%d patches in %d revisions", tr.Patches(), rev)
		})
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
