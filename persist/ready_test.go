package persist_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/cowrite/cowrite/persist"
)

// TestStore_Ready checks that Ready commits a real write, leaves the store
// empty, and fails once the store is closed, even right after a success.
func TestStore_Ready(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	before := s.Stats().Commits
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready on an open store: %v", err)
	}
	if got := s.Stats().Commits; got != before+1 {
		t.Errorf("Ready committed %d transactions, want 1", got-before)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready again: %v", err)
	}
	if got := s.Stats().Commits; got != before+1 {
		t.Errorf("a second Ready within a second wrote again: %d commits, want 1", got-before)
	}

	// The store still counts as empty: a backup of it restores into it.
	var b bytes.Buffer
	if err := s.Backup(ctx, &b, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Restore(ctx, &b, nil); err != nil {
		t.Errorf("restore into a store that served Ready: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Ready on a closed store: %v, want ErrClosed", err)
	}
}
