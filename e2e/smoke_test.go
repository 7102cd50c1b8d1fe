package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session/client"
)

func ins(pos int, text string) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Insert(text, nil)
	return d
}

func TestTwoClientsConverge(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	a := s.dial(t, "smoke", client.Options{Name: "alice"})
	b := s.dial(t, "smoke", client.Options{Name: "bob"})
	if err := a.Submit(ins(0, "hello")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitRev(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(ins(5, " world")); err != nil {
		t.Fatal(err)
	}
	if err := a.Submit(ins(0, ">")); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, a, b)
	if err := a.WaitRev(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRev(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if a.Text() != ">hello world" || b.Text() != a.Text() {
		t.Fatalf("a %q b %q", a.Text(), b.Text())
	}
	content, meta, err := s.manager.Get(ctx, "smoke", -1)
	if err != nil || meta.Rev != 3 || content.Text() != a.Text() {
		t.Fatalf("server: %q at %d, %v", content.Text(), meta.Rev, err)
	}
}
