package doc_test

import (
	"errors"
	"testing"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

func ins(pos int, text string) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Insert(text, nil)
	return d
}

func del(pos, n int) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Delete(n)
	return d
}

// started returns a document holding "hello" at revision 1, made by client a.
func started(t *testing.T, opts doc.Options) *doc.Document {
	t.Helper()
	d := doc.New("e1", opts)
	if _, _, err := d.Submit(doc.Change{Client: "a", Seq: 1, Base: 0, Delta: ins(0, "hello")}); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDocument_Submit(t *testing.T) {
	tests := []struct {
		name    string
		change  doc.Change
		wantErr error
		wantDup bool
		wantRev doc.Rev
		want    string
	}{
		{name: "next", change: doc.Change{Client: "b", Seq: 1, Base: 1, Delta: ins(5, "!")}, wantRev: 2, want: "hello!"},
		{name: "concurrent", change: doc.Change{Client: "b", Seq: 1, Base: 0, Delta: ins(0, ">")}, wantRev: 2, want: "hello>"},
		{name: "duplicate", change: doc.Change{Client: "a", Seq: 1, Base: 0, Delta: ins(0, "hello")}, wantDup: true, wantRev: 1, want: "hello"},
		{name: "seq_conflict", change: doc.Change{Client: "a", Seq: 1, Base: 0, Delta: ins(0, "bye")}, wantErr: doc.ErrSeqConflict, want: "hello"},
		{name: "seq_gap_allowed", change: doc.Change{Client: "a", Seq: 3, Base: 1, Delta: del(0, 1)}, wantRev: 2, want: "ello"},
		{name: "no_client", change: doc.Change{Seq: 1, Base: 1, Delta: ins(0, "x")}, wantErr: doc.ErrClient, want: "hello"},
		{name: "seq_zero", change: doc.Change{Client: "b", Base: 1, Delta: ins(0, "x")}, wantErr: doc.ErrClient, want: "hello"},
		{name: "future_base", change: doc.Change{Client: "b", Seq: 1, Base: 2, Delta: ins(0, "x")}, wantErr: doc.ErrFutureBase, want: "hello"},
		{name: "negative_base", change: doc.Change{Client: "b", Seq: 1, Base: -1, Delta: ins(0, "x")}, wantErr: doc.ErrFutureBase, want: "hello"},
		{name: "too_long", change: doc.Change{Client: "b", Seq: 1, Base: 1, Delta: del(3, 3)}, wantErr: ot.ErrLength, want: "hello"},
		{name: "invalid", change: doc.Change{Client: "b", Seq: 1, Base: 1, Delta: ot.New(ot.Op{Retain: -2})}, wantErr: ot.ErrInvalid, want: "hello"},
		{name: "surrogate", change: doc.Change{Client: "b", Seq: 1, Base: 1, Delta: ins(5, "😀")}, wantRev: 2, want: "hello😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := started(t, doc.Options{})
			s, dup, err := d.Submit(tt.change)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (dup != tt.wantDup || s.Rev != tt.wantRev) {
				t.Errorf("rev %d dup %v, want rev %d dup %v", s.Rev, dup, tt.wantRev, tt.wantDup)
			}
			if got := d.Text(); got != tt.want {
				t.Errorf("text %q, want %q", got, tt.want)
			}
			if err != nil && d.Rev() != 1 {
				t.Errorf("rev moved to %d on error", d.Rev())
			}
		})
	}
}

func TestDocument_SeqOld(t *testing.T) {
	d := started(t, doc.Options{})
	if _, _, err := d.Submit(doc.Change{Client: "a", Seq: 2, Base: 1, Delta: ins(5, "!")}); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.Submit(doc.Change{Client: "a", Seq: 1, Base: 0, Delta: ins(0, "hello")})
	if !errors.Is(err, doc.ErrSeqOld) {
		t.Fatalf("err = %v, want ErrSeqOld", err)
	}
}

func TestDocument_SurrogateSplitRejected(t *testing.T) {
	d := doc.New("e", doc.Options{})
	if _, _, err := d.Submit(doc.Change{Client: "a", Seq: 1, Delta: ins(0, "a😀b")}); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.Submit(doc.Change{Client: "a", Seq: 2, Base: 1, Delta: del(2, 1)})
	if !errors.Is(err, ot.ErrSurrogate) {
		t.Fatalf("err = %v, want ErrSurrogate", err)
	}
	if d.Text() != "a😀b" || d.Rev() != 1 {
		t.Fatalf("document changed: %q at %d", d.Text(), d.Rev())
	}
}

func TestDocument_StaleBase(t *testing.T) {
	d := doc.New("e", doc.Options{Window: 2})
	var log []doc.Sequenced
	for i := range 10 {
		s, _, err := d.Submit(doc.Change{Client: "a", Seq: uint64(i + 1), Base: doc.Rev(i), Delta: ins(i, "x")})
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, s)
	}
	if d.Oldest() < 2 {
		t.Fatalf("window kept everything: oldest %d", d.Oldest())
	}
	late := doc.Change{Client: "b", Seq: 1, Base: 1, Delta: ins(0, "y")}
	if _, _, err := d.Submit(late); !errors.Is(err, doc.ErrStaleBase) {
		t.Fatalf("err = %v, want ErrStaleBase", err)
	}
	if _, err := d.Since(1); !errors.Is(err, doc.ErrStaleBase) {
		t.Fatalf("Since: err = %v, want ErrStaleBase", err)
	}
	if _, _, err := d.SubmitWith(late, log[2:d.Oldest()-1]); !errors.Is(err, doc.ErrHistory) {
		t.Fatalf("short history: err = %v, want ErrHistory", err)
	}
	s, _, err := d.SubmitWith(late, log[1:d.Oldest()])
	if err != nil {
		t.Fatal(err)
	}
	// Revision 1 held "x"; everything after it went after that, and so
	// "y" at 0 stays first.
	if got := d.Text(); got != "yxxxxxxxxxx" || s.Rev != 11 {
		t.Fatalf("text %q rev %d", got, s.Rev)
	}
}

func TestDocument_ReplayAndRestore(t *testing.T) {
	src := started(t, doc.Options{})
	s2, _, err := src.Submit(doc.Change{Client: "b", Seq: 7, Base: 1, Delta: ins(5, " world")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := doc.Restore("e1", 1, ins(0, "hello"), doc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Replay(s2); err != nil {
		t.Fatal(err)
	}
	if err := d.Replay(s2); !errors.Is(err, doc.ErrHistory) {
		t.Fatalf("replaying twice: err = %v, want ErrHistory", err)
	}
	if d.Text() != "hello world" || d.Rev() != 2 {
		t.Fatalf("got %q at %d", d.Text(), d.Rev())
	}
	// The replayed op's client record makes a resend a duplicate.
	s, dup, err := d.Submit(doc.Change{Client: "b", Seq: 7, Base: 1, Delta: ins(5, " world")})
	if err != nil || !dup || s.Rev != 2 {
		t.Fatalf("resend after replay: rev %d dup %v err %v", s.Rev, dup, err)
	}
	ops, err := d.Since(1)
	if err != nil || len(ops) != 1 || ops[0].Rev != 2 {
		t.Fatalf("Since(1) = %v, %v", ops, err)
	}
	if _, err := doc.Restore("e", 0, ot.New(ot.Op{Retain: 3}), doc.Options{}); err == nil {
		t.Fatal("restore from a non-document succeeded")
	}
}

func TestDigest_Stable(t *testing.T) {
	// The digest is stored on disk: it must never change between builds.
	d := ins(3, "abc")
	d.Retain(2, ot.Attributes{"bold": true})
	const want = 0xc24feab79e86dcf3
	if got := doc.Digest(d); got != want {
		t.Fatalf("Digest = %#x, want %#x", got, uint64(want))
	}
	if doc.Digest(ins(3, "abd")) == doc.Digest(ins(3, "abc")) {
		t.Fatal("different deltas share a digest")
	}
}
