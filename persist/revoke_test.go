package persist_test

import (
	"context"
	"testing"
	"time"

	"github.com/cowrite/cowrite/persist"
)

// TestRevocations checks that revocations are stored, survive a reopen,
// that a user's revocation only moves forward, and that bad ones are
// refused.
func TestRevocations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	t1 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	for _, r := range []persist.Revocation{
		{User: "ann", At: t2},
		{User: "ann", At: t1}, // earlier: changes nothing
		{Session: "s-1", At: t1},
		{Session: "s-1", At: t2}, // again: changes nothing
		{User: "bob", At: t1},
	} {
		if err := s.Revoke(ctx, r); err != nil {
			t.Fatalf("revoke %+v: %v", r, err)
		}
	}
	for _, bad := range []persist.Revocation{{}, {User: "a", Session: "b"}, {User: string(make([]byte, 257))}} {
		if err := s.Revoke(ctx, bad); err == nil {
			t.Errorf("revoke %+v: no error", bad)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	got, err := s.Revocations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[persist.Revocation]bool{{User: "ann", At: t2}: true, {User: "bob", At: t1}: true, {Session: "s-1", At: t1}: true}
	if len(got) != len(want) {
		t.Fatalf("revocations %+v, want %v", got, want)
	}
	for _, r := range got {
		if !want[r] {
			t.Errorf("unexpected revocation %+v", r)
		}
	}
	if _, err := s.List(ctx); err != nil {
		t.Errorf("list beside revocations: %v", err)
	}
}
