package ot_test

import (
	"errors"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

// Property tests: laws of the algebra on random documents and changes. Each
// test logs its seed; COWRITE_SEED replays it.

func iterations(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// apply applies change to doc or fails the test.
func apply(t testing.TB, doc, change ot.Delta) ot.Delta {
	t.Helper()
	out, err := ot.Apply(doc, change)
	if err != nil {
		t.Fatalf("Apply(%s, %s): %v", js(doc), js(change), err)
	}
	if !out.IsDocument() || !out.IsCanonical() {
		t.Fatalf("Apply(%s, %s) = %s: not a canonical document", js(doc), js(change), js(out))
	}
	if err := out.Validate(); err != nil {
		t.Fatalf("Apply(%s, %s) = %s: %v", js(doc), js(change), js(out), err)
	}
	return out
}

// must returns a function that returns its delta, failing the test when
// the error is not nil or the delta not canonical and valid:
// must(t, "a∘b")(a.Compose(b)).
func must(t testing.TB, what string) func(ot.Delta, error) ot.Delta {
	return func(d ot.Delta, err error) ot.Delta {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !d.IsCanonical() {
			t.Fatalf("%s = %s: not canonical", what, js(d))
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("%s = %s: %v", what, js(d), err)
		}
		return d
	}
}

func TestPropertyConvergence(t *testing.T) {
	g := newGen(testSeed(t))
	for range iterations(5000) {
		doc := g.document()
		a, b := g.change(doc), g.change(doc)
		for _, aFirst := range []bool{true, false} {
			// b' is b after a; a' is a after b. Whichever went first in
			// the sequencer has priority in both transforms.
			b2 := must(t, "a.Transform(b)")(a.Transform(b, aFirst))
			a2 := must(t, "b.Transform(a)")(b.Transform(a, !aFirst))
			left := apply(t, apply(t, doc, a), b2)
			right := apply(t, apply(t, doc, b), a2)
			if !left.Equal(right) {
				t.Fatalf("diverged (a first: %v)\n doc %s\n a   %s\n b   %s\n a then b' %s\n b then a' %s",
					aFirst, js(doc), js(a), js(b), js(left), js(right))
			}
			// The same law for the changes themselves: a∘b' and b∘a'
			// have the same effect on doc.
			ab := must(t, "a∘b'")(a.Compose(b2))
			ba := must(t, "b∘a'")(b.Compose(a2))
			if x, y := apply(t, doc, ab), apply(t, doc, ba); !x.Equal(left) || !y.Equal(left) {
				t.Fatalf("a∘b' gives %s, b∘a' %s, want %s\n doc %s\n a %s\n b %s", js(x), js(y), js(left), js(doc), js(a), js(b))
			}
		}
	}
}

// Three concurrent changes, transformed pairwise as a server does when one
// client's op arrives after two others were sequenced.
func TestPropertyConvergenceThree(t *testing.T) {
	g := newGen(testSeed(t))
	for range iterations(2000) {
		doc := g.document()
		a, b, c := g.change(doc), g.change(doc), g.change(doc)
		// Server order a, b, c.
		b1 := must(t, "a.T(b)")(a.Transform(b, true))
		c1 := must(t, "a.T(c)")(a.Transform(c, true))
		c2 := must(t, "b1.T(c1)")(b1.Transform(c1, true))
		server := apply(t, apply(t, apply(t, doc, a), b1), c2)
		// A client that made c sees a then b1 arrive, and transforms them
		// over its own c (which is later, so the server's ops win ties).
		a1 := must(t, "c.T(a)")(c.Transform(a, false))
		cA := must(t, "a.T(c)")(a.Transform(c, true))
		b2 := must(t, "cA.T(b1)")(cA.Transform(b1, false))
		client := apply(t, apply(t, apply(t, doc, c), a1), b2)
		if !server.Equal(client) {
			t.Fatalf("diverged\n doc %s\n a %s\n b %s\n c %s\n server %s\n client %s",
				js(doc), js(a), js(b), js(c), js(server), js(client))
		}
	}
}

func TestPropertyCompose(t *testing.T) {
	g := newGen(testSeed(t))
	for range iterations(5000) {
		doc := g.document()
		a := g.change(doc)
		doc1 := apply(t, doc, a)
		b := g.change(doc1)
		doc2 := apply(t, doc1, b)
		c := g.change(doc2)
		doc3 := apply(t, doc2, c)

		ab := must(t, "a∘b")(a.Compose(b))
		if got := apply(t, doc, ab); !got.Equal(doc2) {
			t.Fatalf("doc∘(a∘b) = %s, want %s\n doc %s\n a %s\n b %s\n a∘b %s", js(got), js(doc2), js(doc), js(a), js(b), js(ab))
		}
		// Compose of a document and a change is the new document.
		if got := must(t, "doc∘a")(doc.Compose(a)); !got.Equal(doc1) {
			t.Fatalf("doc.Compose(a) = %s, Apply gives %s", js(got), js(doc1))
		}
		// Associativity.
		bc := must(t, "b∘c")(b.Compose(c))
		left := must(t, "(a∘b)∘c")(ab.Compose(c))
		right := must(t, "a∘(b∘c)")(a.Compose(bc))
		if x, y := apply(t, doc, left), apply(t, doc, right); !x.Equal(doc3) || !y.Equal(doc3) {
			t.Fatalf("(a∘b)∘c gives %s, a∘(b∘c) %s, want %s", js(x), js(y), js(doc3))
		}
		// The empty delta is the identity.
		var empty ot.Delta
		if got := must(t, "a∘0")(a.Compose(empty)); !got.Equal(a) {
			t.Fatalf("a∘0 = %s, want %s", js(got), js(a))
		}
		if got := must(t, "0∘a")(empty.Compose(a)); !got.Equal(a) {
			t.Fatalf("0∘a = %s, want %s", js(got), js(a))
		}
		// Lengths add up.
		if got, want := doc2.Length(), doc.Length()+ab.ChangeLength(); got != want {
			t.Fatalf("length %d after a∘b, want %d + %d", got, doc.Length(), ab.ChangeLength())
		}
	}
}

func TestPropertyInvert(t *testing.T) {
	g := newGen(testSeed(t))
	for range iterations(5000) {
		doc := g.document() // its inserts carry no null attributes
		a := g.change(doc)
		after := apply(t, doc, a)
		inv := must(t, "a.Invert(doc)")(a.Invert(doc))
		if got := apply(t, after, inv); !got.Equal(doc) {
			t.Fatalf("undo gives %s, want %s\n a %s\n a⁻¹ %s", js(got), js(doc), js(a), js(inv))
		}
		// a∘a⁻¹ changes nothing.
		aa := must(t, "a∘a⁻¹")(a.Compose(inv))
		if got := apply(t, doc, aa); !got.Equal(doc) {
			t.Fatalf("doc∘(a∘a⁻¹) = %s, want %s", js(got), js(doc))
		}
		// Redo: the inverse of the inverse redoes a.
		redo := must(t, "a⁻¹.Invert(after)")(inv.Invert(after))
		if got := apply(t, doc, redo); !got.Equal(after) {
			t.Fatalf("redo gives %s, want %s\n a %s\n a⁻¹ %s\n a⁻¹⁻¹ %s", js(got), js(after), js(a), js(inv), js(redo))
		}
	}
}

// TransformPosition agrees with Transform: a marker inserted at a position
// ends up where TransformPosition moves the position.
func TestPropertyTransformPosition(t *testing.T) {
	g := newGen(testSeed(t))
	marker := ot.Embed{Type: "marker", Value: true}
	for range iterations(5000) {
		doc := g.document()
		a := g.change(doc)
		bs := boundaries(doc)
		p := bs[g.r.IntN(len(bs))]
		var b ot.Delta
		b.Retain(p, nil).InsertEmbed(marker, nil)
		after := apply(t, doc, a)
		for _, priority := range []bool{true, false} {
			b2 := must(t, "a.Transform(marker)")(a.Transform(b, !priority))
			final := apply(t, after, b2)
			at, found := 0, false
			for _, op := range final.Ops {
				if op.Embed != nil && op.Embed.Type == "marker" {
					found = true
					break
				}
				at += op.Len()
			}
			if !found {
				t.Fatalf("marker lost: %s", js(final))
			}
			if got := a.TransformPosition(p, priority); got != at {
				t.Fatalf("TransformPosition(%d, %v) = %d, the marker is at %d\n doc %s\n a %s", p, priority, got, at, js(doc), js(a))
			}
			if got := a.TransformPosition(p, priority); got < 0 || got > after.Length() {
				t.Fatalf("TransformPosition(%d, %v) = %d, outside the document of length %d", p, priority, got, after.Length())
			}
		}
	}
}

func TestPropertyDiff(t *testing.T) {
	g := newGen(testSeed(t))
	for range iterations(3000) {
		a := g.document()
		var b ot.Delta
		switch g.r.IntN(3) {
		case 0:
			b = g.document()
		case 1:
			b = apply(t, a, g.change(a))
		default:
			mid := apply(t, a, g.change(a))
			b = apply(t, mid, g.change(mid))
		}
		d := must(t, "a.Diff(b)")(a.Diff(b))
		if got := apply(t, a, d); !got.Equal(b) {
			t.Fatalf("a∘diff = %s, want %s\n a %s\n diff %s", js(got), js(b), js(a), js(d))
		}
		if a.Equal(b) && len(d.Ops) != 0 {
			t.Fatalf("diff of equal documents = %s", js(d))
		}
		// A diff is never bigger than deleting everything and inserting
		// everything anew, and no smaller than the change in length.
		size := editSize(a, d)
		if all := len(boundaries(a)) - 1 + len(boundaries(b)) - 1; size > all {
			t.Fatalf("diff %s edits %d characters, more than all %d\n a %s\n b %s", js(d), size, all, js(a), js(b))
		}
		if min := abs(len(boundaries(a)) - len(boundaries(b))); size < min {
			t.Fatalf("diff %s edits %d characters, fewer than %d", js(d), size, min)
		}
		if !hasNull(b) {
			// These documents are short: the diff is exact.
			if lcs := editDistance(a, b); size != lcs {
				t.Fatalf("diff %s edits %d characters, the shortest edit %d\n a %s\n b %s", js(d), size, lcs, js(a), js(b))
			}
		}
	}
}

func abs(n int) int { return max(n, -n) }

// editDistance returns the fewest characters to insert and delete to turn
// document a into b, by the classic dynamic programme over characters
// (embeds are one character, equal when their values are).
func editDistance(a, b ot.Delta) int {
	x, y := chars(a), chars(b)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cur[j] = min(prev[j], cur[j-1]) + 1
			if x[i-1] == y[j-1] {
				cur[j] = min(cur[j], prev[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}

// chars returns a document's characters, each embed as its JSON.
func chars(d ot.Delta) []string {
	var out []string
	for _, op := range d.Ops {
		if op.Embed != nil {
			out = append(out, js(ot.New(ot.Op{Embed: op.Embed})))
			continue
		}
		for _, r := range op.Insert {
			out = append(out, string(r))
		}
	}
	return out
}

// With counts that may fall inside a surrogate pair, every operation either
// fails with ErrSurrogate or gives a valid result.
func TestPropertySurrogates(t *testing.T) {
	g := newGen(testSeed(t))
	g.split = 30
	failed := 0
	check := func(what string, d ot.Delta, err error) {
		t.Helper()
		if err != nil {
			if !errors.Is(err, ot.ErrSurrogate) {
				t.Fatalf("%s: %v, want ErrSurrogate", what, err)
			}
			var oe *ot.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("%s: %v is not an *ot.OpError", what, err)
			}
			failed++
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("%s = %s: %v", what, js(d), err)
		}
	}
	for range iterations(5000) {
		doc := g.document()
		a, b := g.change(doc), g.change(doc)
		r, err := ot.Apply(doc, a)
		check("Apply", r, err)
		r, err = doc.Compose(a)
		check("Compose", r, err)
		r, err = a.Compose(b)
		check("Compose", r, err)
		r, err = a.Transform(b, true)
		check("Transform", r, err)
		r, err = a.Invert(doc)
		check("Invert", r, err)
	}
	if failed == 0 {
		t.Error("no cut fell inside a surrogate pair: the test tests nothing")
	}
}

// No method changes its receiver or its arguments, and building on a
// result never changes the deltas it came from.
func TestPropertyNoMutation(t *testing.T) {
	g := newGen(testSeed(t))
	for range iterations(2000) {
		doc := g.document()
		a, b := g.change(doc), g.change(doc)
		other := g.document()
		inputs := []ot.Delta{doc, a, b, other}
		before := make([]string, len(inputs))
		for i, d := range inputs {
			before[i] = js(d)
		}
		var results []ot.Delta
		keep := func(d ot.Delta, err error) {
			if err == nil {
				results = append(results, d)
			}
		}
		keep(doc.Compose(a))
		keep(a.Compose(b))
		keep(ot.Apply(doc, a))
		keep(a.Transform(b, true))
		keep(b.Transform(a, false))
		keep(a.Invert(doc))
		keep(doc.Diff(other))
		keep(doc.Slice(1, 3))
		keep(doc.Canonical(), nil)
		a.TransformPosition(2, true)
		_ = a.Validate()
		for _, r := range results {
			// Builder calls merge into the last op in place, and append.
			r.Insert("Q", nil).Retain(2, bold).Retain(1, bold).Delete(1).Insert("R", nil)
			r.InsertEmbed(image, nil)
		}
		for i, d := range inputs {
			if after := js(d); after != before[i] {
				t.Fatalf("input %d changed from %s to %s", i, before[i], after)
			}
		}
	}
}
