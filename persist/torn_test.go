package persist_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/persist"
)

// A process killed while Badger creates a value-log or memtable file (it
// creates one of each at every Open) leaves the file empty. The store
// opens anyway, with everything that was committed.
func TestStore_OpensAfterTornCreate(t *testing.T) {
	for _, name := range []string{"000099.vlog", "00099.mem"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			s, err := persist.Open(ctx, persist.Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			create(t, s, "a", text(""))
			if err := s.Append(ctx, "a", 0, []doc.Sequenced{insertAt(1, "c", 1, 0, "kept")}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
				t.Fatal(err)
			}

			s = open(t, dir)
			got, err := s.At(ctx, "a", 1)
			if err != nil || got.Text() != "kept" {
				t.Fatalf("after reopening: %q, %v", got.Text(), err)
			}
			if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
				t.Errorf("the empty %s is still there: %v", name, err)
			}
		})
	}
}
