package e2e

import (
	"strings"
	"testing"

	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
)

// expectError reads until an error arrives, skipping others' messages.
func expectError(t *testing.T, r *raw) *session.Error {
	t.Helper()
	for {
		switch m := r.read().(type) {
		case *session.Error:
			return m
		case *session.Presence, *session.Leave, *session.Remote:
		default:
			t.Fatalf("got %T %+v, want an error", m, m)
		}
	}
}

// TestBadInput_TooLargeDelta sends deltas over the op-count and
// inserted-bytes limits: each is refused with too_large, the connection
// stays open, and the document is unchanged.
func TestBadInput_TooLargeDelta(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{MaxDeltaOps: 10, MaxInsertBytes: 100}})
	const id = "toolarge"
	r, w := s.rawJoin(t, id, session.Hello{Client: "big", Rev: -1})
	r.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, "ok")})
	ack := expect[session.Ack](r)

	var many ot.Delta
	for i := range 11 {
		many.Ops = append(many.Ops, ot.Op{Insert: "x", Attributes: map[string]any{"n": float64(i)}})
	}
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: many})
	if e := expectError(t, r); e.Code != session.CodeTooLarge || e.Seq != 2 {
		t.Fatalf("11 ops: got %+v, want too_large for seq 2", e)
	}
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, strings.Repeat("y", 101))})
	if e := expectError(t, r); e.Code != session.CodeTooLarge || e.Seq != 2 {
		t.Fatalf("101 bytes: got %+v, want too_large for seq 2", e)
	}
	// Still open, and within the limits it still edits.
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, strings.Repeat("z", 100))})
	expect[session.Ack](r)
	if content, rev := s.content(t, id); content.Text() != strings.Repeat("z", 100)+"ok" || rev != 2 {
		t.Fatalf("server has %q at %d", content.Text(), rev)
	}
}

// TestBadInput_TooLargeDocument grows a document to its limit: the change
// that would pass it is refused with too_large, the document is unchanged,
// and a change that shrinks or keeps it is taken.
func TestBadInput_TooLargeDocument(t *testing.T) {
	s := startServer(t, "", serverOpts{session: session.Config{MaxDocLen: 50}})
	const id = "toolong"
	r, w := s.rawJoin(t, id, session.Hello{Client: "grow", Rev: -1})
	r.send(&session.Submit{Seq: 1, Base: w.Rev, Delta: ins(0, strings.Repeat("a", 49))})
	ack := expect[session.Ack](r)
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, "bb")})
	if e := expectError(t, r); e.Code != session.CodeTooLarge || e.Seq != 2 {
		t.Fatalf("got %+v, want too_large for seq 2", e)
	}
	if content, rev := s.content(t, id); content.Text() != strings.Repeat("a", 49) || rev != ack.Rev {
		t.Fatalf("server has %q at %d after the refusal", content.Text(), rev)
	}
	r.send(&session.Submit{Seq: 2, Base: ack.Rev, Delta: ins(0, "b")})
	ack = expect[session.Ack](r)
	// A resend of an applied op is acknowledged again, not refused.
	r.send(&session.Submit{Seq: 2, Base: ack.Rev - 1, Delta: ins(0, "b")})
	if again := expect[session.Ack](r); again.Rev != ack.Rev {
		t.Fatalf("resend acked at %d, want %d", again.Rev, ack.Rev)
	}
	if content, _ := s.content(t, id); content.Text() != "b"+strings.Repeat("a", 49) {
		t.Fatalf("server has %q", content.Text())
	}
}
