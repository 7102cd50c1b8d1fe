package persist_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// TestStore_CreateRace creates documents from many goroutines at once, as
// the first clients of a new document do: whoever is told the document
// exists must be able to read it at once, even when the Create that made
// it shares their transaction.
func TestStore_CreateRace(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	for round := range 50 {
		id := fmt.Sprintf("race%d", round)
		for range 8 {
			wg.Go(func() {
				cerr := s.Create(ctx, newMeta(id), ot.Delta{})
				if cerr != nil && !errors.Is(cerr, doc.ErrExists) {
					t.Errorf("create %s: %v", id, cerr)
					return
				}
				if _, err := s.Load(ctx, id); err != nil {
					t.Errorf("create %s said %v, then load: %v", id, cerr, err)
				}
			})
		}
	}
	wg.Wait()
}
