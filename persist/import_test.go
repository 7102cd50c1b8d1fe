package persist_test

import (
	"context"
	"testing"

	"github.com/cowrite/cowrite/doc"
)

func TestStore_Import(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	first, second := text("first version\n"), text("second version, longer\n")
	if err := s.Import(ctx, "imp", "imp.txt", first); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Meta(ctx, "imp"); err != nil || m.Rev != 0 || m.Epoch == "" || m.Title != "imp.txt" {
		t.Fatalf("after create: %+v, %v", m, err)
	}
	if err := s.Import(ctx, "imp", "ignored", second); err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, "imp", "ignored", second); err != nil {
		t.Fatal(err)
	}
	m, err := s.Meta(ctx, "imp")
	if err != nil || m.Rev != 1 {
		t.Fatalf("after two imports of one content: %+v, %v (want revision 1)", m, err)
	}
	for rev, want := range map[doc.Rev]string{0: first.Text(), 1: second.Text()} {
		got, err := s.At(ctx, "imp", rev)
		if err != nil || got.Text() != want {
			t.Errorf("@%d: %q, %v; want %q", rev, got.Text(), err, want)
		}
	}
}
