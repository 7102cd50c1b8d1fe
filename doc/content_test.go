package doc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cowrite/cowrite/doc/trace"
	"github.com/cowrite/cowrite/ot"
)

// check verifies the content's invariants: lengths cached at every level
// agree with the leaves, leaves and inner nodes within their limits, runs
// cut at character boundaries and merged where they can be, and every
// leaf's scan hint valid.
func (c *Content) check() error {
	if c.root == nil {
		if c.units != 0 || c.bytes != 0 || c.astral != 0 || c.height != 0 {
			return fmt.Errorf("no root but lengths %d/%d/%d height %d", c.units, c.bytes, c.astral, c.height)
		}
		return nil
	}
	units, bytes, astral, err := checkNode(c.root, c.height, true)
	if err != nil {
		return err
	}
	if units != c.units || bytes != c.bytes || astral != c.astral {
		return fmt.Errorf("content says %d units %d bytes %d astral, tree holds %d/%d/%d", c.units, c.bytes, c.astral, units, bytes, astral)
	}
	return nil
}

func checkNode(n *node, h int, root bool) (units, bytes, astral int, err error) {
	if h == 0 {
		return checkLeaf(n, root)
	}
	if n.text != nil || n.runs != nil {
		return 0, 0, 0, fmt.Errorf("inner node at height %d has text", h)
	}
	if len(n.kids) > fanout || len(n.kids) < minKids && !root || len(n.kids) < 2 && root {
		return 0, 0, 0, fmt.Errorf("inner node at height %d (root %v) has %d children", h, root, len(n.kids))
	}
	for i, k := range n.kids {
		u, b, a, err := checkNode(k.n, h-1, false)
		if err != nil {
			return 0, 0, 0, err
		}
		if u != k.units {
			return 0, 0, 0, fmt.Errorf("child %d at height %d: cached %d units, holds %d", i, h, k.units, u)
		}
		units, bytes, astral = units+u, bytes+b, astral+a
	}
	return units, bytes, astral, nil
}

func checkLeaf(l *node, root bool) (units, bytes, astral int, err error) {
	if l.kids != nil {
		return 0, 0, 0, errors.New("leaf has children")
	}
	if len(l.runs) == 0 && !root {
		return 0, 0, 0, errors.New("empty leaf")
	}
	if len(l.text) > maxLeaf || len(l.runs) > maxRuns {
		return 0, 0, 0, fmt.Errorf("leaf holds %d bytes in %d runs", len(l.text), len(l.runs))
	}
	if !utf8.Valid(l.text) {
		return 0, 0, 0, errors.New("leaf text is not UTF-8")
	}
	accB := 0
	for i, rr := range l.runs {
		r := struct {
			bytes, units int
			style        *style
		}{int(rr.bytes), int(rr.units), rr.style}
		if r.style != nil && r.style.embed != nil {
			if r.bytes != 0 || r.units != 1 {
				return 0, 0, 0, fmt.Errorf("embed run %d: %d bytes %d units", i, r.bytes, r.units)
			}
		} else {
			if r.bytes <= 0 || accB+r.bytes > len(l.text) {
				return 0, 0, 0, fmt.Errorf("text run %d: %d bytes at %d of %d", i, r.bytes, accB, len(l.text))
			}
			seg := l.text[accB : accB+r.bytes]
			if !utf8.Valid(seg) {
				return 0, 0, 0, fmt.Errorf("text run %d cuts a character", i)
			}
			u, _ := utf16Count(seg)
			if u != r.units {
				return 0, 0, 0, fmt.Errorf("text run %d: %d units cached, %d held", i, r.units, u)
			}
			if r.style != nil && r.style.key == "" {
				return 0, 0, 0, fmt.Errorf("text run %d: style not interned", i)
			}
		}
		if i > 0 && mergeable(l.runs[i-1].style, r.style) {
			return 0, 0, 0, fmt.Errorf("runs %d and %d not merged", i-1, i)
		}
		units += r.units
		accB += r.bytes
	}
	if accB != len(l.text) {
		return 0, 0, 0, fmt.Errorf("runs cover %d bytes of %d", accB, len(l.text))
	}
	if a := countAstral(l.text); a != l.astral {
		return 0, 0, 0, fmt.Errorf("leaf says %d astral, holds %d", l.astral, a)
	}
	// The hint must be a true pair of offsets.
	hu, hb := l.hintU, l.hintB
	if hu < 0 || hu > units || hb < 0 || hb > len(l.text) {
		return 0, 0, 0, fmt.Errorf("hint %d/%d out of range", hu, hb)
	}
	l.hintU, l.hintB = 0, 0
	_, _, _, b, ok := l.locate(hu)
	l.hintU, l.hintB = hu, hb
	if !ok || b != hb {
		return 0, 0, 0, fmt.Errorf("hint %d/%d, but unit %d is byte %d (ok %v)", hu, hb, hu, b, ok)
	}
	return units, len(l.text), l.astral, nil
}

// mustCheck fails the test when c's invariants do not hold.
func mustCheck(t testing.TB, c *Content) {
	t.Helper()
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
}

func insertOp(s string, a ot.Attributes) ot.Op { return ot.Op{Insert: s, Attributes: a} }
func retainOp(n int, a ot.Attributes) ot.Op    { return ot.Op{Retain: n, Attributes: a} }
func deleteOp(n int) ot.Op                     { return ot.Op{Delete: n} }
func embedOp(typ string, v any, a ot.Attributes) ot.Op {
	return ot.Op{Embed: &ot.Embed{Type: typ, Value: v}, Attributes: a}
}

func TestContent_Apply(t *testing.T) {
	bold := ot.Attributes{"bold": true}
	italic := ot.Attributes{"italic": true}
	tests := []struct {
		name    string
		doc     []ot.Op
		change  []ot.Op
		want    []ot.Op // nil when err is set
		wantErr error
	}{
		{name: "insert into empty", change: []ot.Op{insertOp("hello", nil)}, want: []ot.Op{insertOp("hello", nil)}},
		{name: "append", doc: []ot.Op{insertOp("ab", nil)}, change: []ot.Op{retainOp(2, nil), insertOp("c", nil)}, want: []ot.Op{insertOp("abc", nil)}},
		{name: "insert bold in plain", doc: []ot.Op{insertOp("ac", nil)}, change: []ot.Op{retainOp(1, nil), insertOp("b", bold)},
			want: []ot.Op{insertOp("a", nil), insertOp("b", bold), insertOp("c", nil)}},
		{name: "bold merges with bold neighbour", doc: []ot.Op{insertOp("a", nil), insertOp("b", bold)}, change: []ot.Op{retainOp(1, nil), insertOp("x", ot.Attributes{"bold": true})},
			want: []ot.Op{insertOp("a", nil), insertOp("xb", bold)}},
		{name: "delete", doc: []ot.Op{insertOp("hello", nil)}, change: []ot.Op{retainOp(1, nil), deleteOp(3)}, want: []ot.Op{insertOp("ho", nil)}},
		{name: "delete everything", doc: []ot.Op{insertOp("hello", bold)}, change: []ot.Op{deleteOp(5)}, want: []ot.Op{}},
		{name: "delete joins equal runs", doc: []ot.Op{insertOp("a", bold), insertOp("b", nil), insertOp("c", bold)}, change: []ot.Op{retainOp(1, nil), deleteOp(1)},
			want: []ot.Op{insertOp("ac", bold)}},
		{name: "format", doc: []ot.Op{insertOp("hello", nil)}, change: []ot.Op{retainOp(1, nil), retainOp(3, bold)},
			want: []ot.Op{insertOp("h", nil), insertOp("ell", bold), insertOp("o", nil)}},
		{name: "null removes", doc: []ot.Op{insertOp("hello", ot.Attributes{"bold": true, "italic": true})}, change: []ot.Op{retainOp(5, ot.Attributes{"bold": nil})},
			want: []ot.Op{insertOp("hello", italic)}},
		{name: "null removes last attribute", doc: []ot.Op{insertOp("ab", bold), insertOp("c", nil)}, change: []ot.Op{retainOp(2, ot.Attributes{"bold": nil})},
			want: []ot.Op{insertOp("abc", nil)}},
		{name: "null on insert is kept", change: []ot.Op{insertOp("a", ot.Attributes{"bold": nil})}, want: []ot.Op{insertOp("a", ot.Attributes{"bold": nil})}},
		{name: "numbers compare by value", doc: []ot.Op{insertOp("a", ot.Attributes{"size": 1})}, change: []ot.Op{retainOp(1, nil), insertOp("b", ot.Attributes{"size": 1.0})},
			want: []ot.Op{insertOp("ab", ot.Attributes{"size": 1})}},
		{name: "embed", doc: []ot.Op{insertOp("ab", nil)}, change: []ot.Op{retainOp(1, nil), embedOp("image", "x.png", nil)},
			want: []ot.Op{insertOp("a", nil), embedOp("image", "x.png", nil), insertOp("b", nil)}},
		{name: "format embed", doc: []ot.Op{embedOp("image", "x.png", nil), embedOp("image", "x.png", nil)}, change: []ot.Op{retainOp(2, bold)},
			want: []ot.Op{embedOp("image", "x.png", bold), embedOp("image", "x.png", bold)}},
		{name: "emoji", doc: []ot.Op{insertOp("a😀b", nil)}, change: []ot.Op{retainOp(3, nil), insertOp("é", nil)}, want: []ot.Op{insertOp("a😀éb", nil)}},
		{name: "delete emoji", doc: []ot.Op{insertOp("a😀b", nil)}, change: []ot.Op{retainOp(1, nil), deleteOp(2)}, want: []ot.Op{insertOp("ab", nil)}},
		{name: "retain splits pair", doc: []ot.Op{insertOp("a😀b", nil)}, change: []ot.Op{retainOp(2, nil), insertOp("x", nil)}, wantErr: ot.ErrSurrogate},
		{name: "delete splits pair", doc: []ot.Op{insertOp("a😀b", nil)}, change: []ot.Op{deleteOp(2)}, wantErr: ot.ErrSurrogate},
		{name: "format splits pair", doc: []ot.Op{insertOp("😀😀", nil)}, change: []ot.Op{retainOp(1, nil), retainOp(2, bold)}, wantErr: ot.ErrSurrogate},
		{name: "too long", doc: []ot.Op{insertOp("ab", nil)}, change: []ot.Op{retainOp(2, nil), deleteOp(1)}, wantErr: ot.ErrLength},
		{name: "too long beats surrogate", doc: []ot.Op{insertOp("😀", nil)}, change: []ot.Op{retainOp(1, nil), deleteOp(5)}, wantErr: ot.ErrLength},
		{name: "invalid op", doc: []ot.Op{insertOp("ab", nil)}, change: []ot.Op{{}}, wantErr: ot.ErrInvalid},
		{name: "negative retain", doc: []ot.Op{insertOp("ab", nil)}, change: []ot.Op{retainOp(-1, nil)}, wantErr: ot.ErrInvalid},
		{name: "bad UTF-8", doc: []ot.Op{insertOp("ab", nil)}, change: []ot.Op{insertOp("\xff", nil)}, wantErr: ot.ErrInvalid},
		{name: "insert before delete", doc: []ot.Op{insertOp("abc", nil)}, change: []ot.Op{retainOp(1, nil), deleteOp(1), insertOp("X", bold)},
			want: []ot.Op{insertOp("a", nil), insertOp("X", bold), insertOp("c", nil)}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			c, err := NewContentFrom(ot.New(tt.doc...))
			if err != nil {
				t.Fatal(err)
			}
			before := c.Delta()
			err = c.Apply(ot.New(tt.change...))
			mustCheck(t, c)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Apply: got error %v, want %v", err, tt.wantErr)
				}
				if !c.Delta().Equal(before) {
					t.Fatalf("content changed on error: %v", c.Delta())
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := c.Delta(); !got.Equal(ot.New(tt.want...)) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			// The reference semantics agree.
			ref, err := ot.Apply(before, ot.New(tt.change...))
			if err != nil || !ref.Equal(c.Delta()) {
				t.Fatalf("ot.Apply gives %v, %v; content %v", ref, err, c.Delta())
			}
		})
	}
}

// TestContent_invalid applies malformed deltas, which callers should have
// refused with ot.Validate: Apply must fail without a panic and without
// changing anything.
func TestContent_invalid(t *testing.T) {
	bad := []ot.Op{
		{},
		{Retain: -1},
		{Delete: -3},
		{Insert: "a", Retain: 1},
		{Insert: "a", Embed: &ot.Embed{Type: "x"}},
		{Retain: 1, Delete: 1},
		{Insert: "\xc3"},
		{Retain: ot.MaxCount + 1},
		{Attributes: ot.Attributes{"bold": true}},
	}
	s := seed(t)
	r := rand.New(rand.NewPCG(s, 4))
	for i, op := range bad {
		for range 20 {
			d := randomDoc(r, r.IntN(3000))
			c, err := NewContentFrom(d)
			if err != nil {
				t.Fatal(err)
			}
			change := randomChange(r, d.Length())
			at := r.IntN(len(change.Ops) + 1)
			change.Ops = append(change.Ops[:at], append([]ot.Op{op}, change.Ops[at:]...)...)
			if err := c.Apply(change); err == nil {
				t.Fatalf("bad op %d (%+v): Apply(%v) succeeded", i, op, change)
			}
			mustCheck(t, c)
			if !c.Delta().Equal(d.Canonical()) {
				t.Fatalf("bad op %d: content changed", i)
			}
		}
	}
	// Huge counts never overflow into a valid length.
	c, _ := NewContentFrom(ot.New(insertOp("ab", nil)))
	huge := make([]ot.Op, 1<<14)
	for i := range huge {
		huge[i] = retainOp(ot.MaxCount, nil)
	}
	if err := c.Apply(ot.New(huge...)); !errors.Is(err, ot.ErrLength) {
		t.Fatalf("huge retains: got %v", err)
	}
}

func TestNewContentFrom(t *testing.T) {
	if _, err := NewContentFrom(ot.New(retainOp(1, nil))); !errors.Is(err, ot.ErrNotDocument) {
		t.Errorf("retain: got %v, want ErrNotDocument", err)
	}
	if _, err := NewContentFrom(ot.New(insertOp("\xff", nil))); !errors.Is(err, ot.ErrInvalid) {
		t.Errorf("bad UTF-8: got %v, want ErrInvalid", err)
	}
	// Uncanonical input comes out canonical.
	c, err := NewContentFrom(ot.New(insertOp("a", ot.Attributes{"b": 1}), insertOp("b", ot.Attributes{"b": 1.0}), insertOp("c", ot.Attributes{})))
	if err != nil {
		t.Fatal(err)
	}
	want := ot.New(insertOp("ab", ot.Attributes{"b": 1}), insertOp("c", nil))
	if got := c.Delta(); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// A large document spans many leaves and comes back whole.
	big := strings.Repeat("abcdé😀fghij\n", 20000)
	c, err = NewContentFrom(ot.New(insertOp(big, nil)))
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c)
	if c.Text() != big || c.Len() != ot.UTF16Len(big) || c.height < 2 {
		t.Errorf("big document: len %d height %d", c.Len(), c.height)
	}
}

func TestContent_zero(t *testing.T) {
	var c Content
	if c.Len() != 0 || c.Text() != "" || len(c.Delta().Ops) != 0 {
		t.Fatal("zero content is not empty")
	}
	if d, err := c.Slice(0, 5); err != nil || len(d.Ops) != 0 {
		t.Fatalf("Slice: %v, %v", d, err)
	}
	if err := c.Apply(ot.New(retainOp(1, nil))); !errors.Is(err, ot.ErrLength) {
		t.Fatalf("got %v, want ErrLength", err)
	}
	if err := c.Apply(ot.New(insertOp("x", nil))); err != nil || c.Text() != "x" {
		t.Fatalf("Apply: %v, text %q", err, c.Text())
	}
	mustCheck(t, &c)
}

func TestContent_Slice(t *testing.T) {
	bold := ot.Attributes{"bold": true}
	d := ot.New(insertOp("ab😀", nil), insertOp("cd", bold), embedOp("image", "i", nil), insertOp("ef", nil))
	c, err := NewContentFrom(d)
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start <= d.Length(); start++ {
		for end := start; end <= d.Length(); end++ {
			want, werr := d.Slice(start, end)
			got, gerr := c.Slice(start, end)
			if (werr == nil) != (gerr == nil) || werr != nil && !errors.Is(gerr, ot.ErrSurrogate) {
				t.Fatalf("Slice(%d, %d): error %v, want %v", start, end, gerr, werr)
			}
			if werr == nil && !got.Equal(want) {
				t.Fatalf("Slice(%d, %d) = %v, want %v", start, end, got, want)
			}
		}
	}
	if got, _ := c.Slice(2, -1); !got.Equal(ot.New(insertOp("😀", nil), insertOp("cd", bold), embedOp("image", "i", nil), insertOp("ef", nil))) {
		t.Fatalf("Slice(2, -1) = %v", got)
	}
}

// randomText returns n characters mixing ASCII, two-, three- and
// four-byte ones.
func randomText(r *rand.Rand, n int) string {
	chars := []string{"a", "b", "c", " ", "\n", "é", "中", "😀", "𝄞"}
	var b strings.Builder
	for range n {
		if r.IntN(4) > 0 {
			b.WriteByte(byte('a' + r.IntN(26)))
		} else {
			b.WriteString(chars[r.IntN(len(chars))])
		}
	}
	return b.String()
}

// Attribute sets for random documents and changes, with equal values of
// different Go types, nulls and nested values.
var (
	randomDocAttrs = []ot.Attributes{
		nil, nil, nil,
		{"bold": true},
		{"italic": true},
		{"bold": true, "italic": true},
		{"color": "red"},
		{"size": 1},
		{"size": 1.0},
		{"size": int64(2)},
		{"bold": nil},
		{"link": map[string]any{"href": "x", "n": []any{1.0, "y"}}},
	}
	randomChangeAttrs = []ot.Attributes{
		{"bold": true},
		{"bold": nil},
		{"bold": nil, "italic": true},
		{"color": "red"},
		{"color": nil},
		{"size": 1.0},
		{"size": nil, "bold": nil, "italic": nil, "color": nil, "link": nil},
		{"link": map[string]any{"href": "x", "n": []any{1, "y"}}},
	}
)

// randomDoc returns a random document of about n characters.
func randomDoc(r *rand.Rand, n int) ot.Delta {
	var d ot.Delta
	for d.Length() < n {
		if r.IntN(20) == 0 {
			d.InsertEmbed(ot.Embed{Type: "image", Value: fmt.Sprint(r.IntN(3))}, randomDocAttrs[r.IntN(len(randomDocAttrs))])
			continue
		}
		d.Insert(randomText(r, 1+r.IntN(1+n/4)), randomDocAttrs[r.IntN(len(randomDocAttrs))])
	}
	return d
}

// randomChange returns a random change to a document of length n. Most
// fit; some are too long, and any may cut a surrogate pair.
func randomChange(r *rand.Rand, n int) ot.Delta {
	var d ot.Delta
	pos := 0
	for range 1 + r.IntN(4) {
		switch r.IntN(7) {
		case 0, 1:
			k := r.IntN(n - pos + 1)
			d.Push(retainOp(k, nil))
			pos += k
		case 2:
			k := r.IntN(n - pos + 1)
			d.Push(retainOp(k, randomChangeAttrs[r.IntN(len(randomChangeAttrs))]))
			pos += k
		case 3:
			k := r.IntN(min(n-pos, 1+n/8) + 1)
			d.Push(deleteOp(k))
			pos += k
		case 4:
			d.Push(embedOp("video", r.IntN(2), randomDocAttrs[r.IntN(len(randomDocAttrs))]))
		default:
			d.Push(insertOp(randomText(r, 1+r.IntN(8)), randomDocAttrs[r.IntN(len(randomDocAttrs))]))
		}
	}
	if r.IntN(30) == 0 {
		d.Push(deleteOp(1 + r.IntN(3))) // likely past the end
	}
	// Drop zero counts left by the random lengths.
	var out ot.Delta
	for _, op := range d.Ops {
		if op.Kind() != ot.KindInvalid {
			out.Ops = append(out.Ops, op)
		}
	}
	return out
}

// seed returns the seed for a random test, from COWRITE_SEED when set, and
// logs it so that a failure can be replayed.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv("COWRITE_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &s); err != nil {
			t.Fatalf("COWRITE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with COWRITE_SEED=%d)", s, s)
	return s
}

// TestContent_random checks Content.Apply against ot.Apply on random
// documents and changes.
func TestContent_random(t *testing.T) {
	s := seed(t)
	r := rand.New(rand.NewPCG(s, 1))
	rounds, steps := 200, 40
	if testing.Short() {
		rounds = 50
	}
	sizes := []int{0, 5, 60, 600, 3000, 40000}
	for round := range rounds {
		size := sizes[r.IntN(len(sizes))]
		if size == 40000 && r.IntN(4) > 0 {
			size = 3000 // large documents are slow to compare
		}
		want := randomDoc(r, size)
		c, err := NewContentFrom(want)
		if err != nil {
			t.Fatal(err)
		}
		mustCheck(t, c)
		for step := range steps {
			change := randomChange(r, want.Length())
			next, werr := ot.Apply(want, change)
			gerr := c.Apply(change)
			where := fmt.Sprintf("round %d step %d: change %v", round, step, change)
			if werr != nil {
				var kind error = ot.ErrLength
				if errors.Is(werr, ot.ErrSurrogate) {
					kind = ot.ErrSurrogate
				}
				if !errors.Is(gerr, kind) {
					t.Fatalf("%s: got error %v, want %v", where, gerr, werr)
				}
			} else if gerr != nil {
				t.Fatalf("%s: %v", where, gerr)
			} else {
				want = next
			}
			if err := c.check(); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if got := c.Delta(); !got.Equal(want) {
				t.Fatalf("%s:\n got %v\nwant %v", where, got, want)
			}
			if c.Len() != want.Length() || c.Text() != want.Text() {
				t.Fatalf("%s: Len %d Text %q, want %d %q", where, c.Len(), c.Text(), want.Length(), want.Text())
			}
		}
		// Slices agree with ot's on the final document.
		for range 5 {
			a, b := r.IntN(want.Length()+1), r.IntN(want.Length()+1)
			a, b = min(a, b), max(a, b)
			ws, werr := want.Slice(a, b)
			gs, gerr := c.Slice(a, b)
			if (werr == nil) != (gerr == nil) || werr == nil && !gs.Equal(ws) {
				t.Fatalf("round %d: Slice(%d, %d) = %v, %v; want %v, %v", round, a, b, gs, gerr, ws, werr)
			}
		}
	}
}

// TestContent_randomLarge edits a document large enough for a tree of
// three levels, checking the invariants as it goes and the result against
// ot.Apply at the end.
func TestContent_randomLarge(t *testing.T) {
	s := seed(t)
	r := rand.New(rand.NewPCG(s, 2))
	start := randomDoc(r, 1<<20)
	c, err := NewContentFrom(start)
	if err != nil {
		t.Fatal(err)
	}
	want := start
	steps := 4000
	if testing.Short() {
		steps = 1000
	}
	var changes []ot.Delta
	for step := range steps {
		var change ot.Delta
		n := c.Len()
		pos := r.IntN(n + 1)
		switch k := r.IntN(100); {
		case k < 2: // a large cut
			change = ot.New(retainOp(pos, nil), deleteOp(r.IntN(min(n-pos, n/8)+1)))
		case k < 4: // a large paste
			change = ot.New(retainOp(pos, nil), insertOp(randomText(r, r.IntN(50000)), nil))
		case k < 8: // formatting
			change = ot.New(retainOp(pos, nil), retainOp(r.IntN(min(n-pos, 5000)+1), randomChangeAttrs[r.IntN(len(randomChangeAttrs))]))
		case k < 30:
			change = ot.New(retainOp(pos, nil), deleteOp(r.IntN(min(n-pos, 20)+1)))
		case k < 50: // typing: a burst of keystrokes and backspaces at one place
			for range r.IntN(60) {
				var key ot.Delta
				if r.IntN(4) == 0 && pos > 0 {
					key = ot.New(retainOp(pos-1, nil), deleteOp(1)).Canonical()
				} else {
					key = ot.New(retainOp(pos, nil), insertOp(randomText(r, 1), nil)).Canonical()
				}
				if err := c.Apply(key); err != nil {
					if !errors.Is(err, ot.ErrSurrogate) {
						t.Fatalf("step %d: %v", step, err)
					}
					break
				}
				changes = append(changes, key)
				pos += key.ChangeLength()
			}
			continue
		default:
			change = ot.New(retainOp(pos, nil), insertOp(randomText(r, 1+r.IntN(20)), randomDocAttrs[r.IntN(len(randomDocAttrs))]))
		}
		change = change.Canonical()
		if err := c.Apply(change); err != nil {
			if !errors.Is(err, ot.ErrSurrogate) {
				t.Fatalf("step %d: %v", step, err)
			}
			continue
		}
		changes = append(changes, change)
		if step%1000 == 0 {
			mustCheck(t, c)
		}
	}
	mustCheck(t, c)
	// ot.Apply costs O(n): apply the changes composed in batches.
	for len(changes) > 0 {
		batch := changes[0]
		k := 1
		for ; k < min(len(changes), 200); k++ {
			if batch, err = batch.Compose(changes[k]); err != nil {
				t.Fatal(err)
			}
		}
		changes = changes[k:]
		if want, err = ot.Apply(want, batch); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Delta(); !got.Equal(want) {
		t.Fatalf("final content differs from ot.Apply: %d ops, want %d", len(got.Ops), len(want.Ops))
	}
	t.Logf("%d units, height %d", c.Len(), c.height)
}

// FuzzContent_Apply compares Content.Apply with ot.Apply on a document and
// a change read from JSON.
func FuzzContent_Apply(f *testing.F) {
	f.Add(`{"ops":[{"insert":"ab😀c"},{"insert":"d","attributes":{"bold":true}}]}`, `{"ops":[{"retain":2},{"insert":"x"},{"delete":1}]}`)
	f.Add(`{"ops":[{"insert":"ab😀c"}]}`, `{"ops":[{"retain":3},{"delete":1}]}`)
	f.Add(`{"ops":[{"insert":"hello","attributes":{"bold":true,"size":1}},{"insert":{"image":"x"}}]}`, `{"ops":[{"retain":2},{"retain":4,"attributes":{"bold":null,"size":1.0}}]}`)
	f.Add(`{"ops":[{"insert":"abc"}]}`, `{"ops":[{"retain":1},{"insert":{"video":1},"attributes":{"a":[1,{"b":null}]}},{"delete":2}]}`)
	f.Fuzz(func(t *testing.T, docJSON, changeJSON string) {
		var d, change ot.Delta
		if json.Unmarshal([]byte(docJSON), &d) != nil || json.Unmarshal([]byte(changeJSON), &change) != nil || !d.IsDocument() {
			return
		}
		d = d.Canonical()
		c, err := NewContentFrom(d)
		if err != nil {
			t.Fatalf("NewContentFrom(%v): %v", d, err)
		}
		if got := c.Delta(); !got.Equal(d) {
			t.Fatalf("NewContentFrom(%v).Delta() = %v", d, got)
		}
		want, werr := ot.Apply(d, change)
		gerr := c.Apply(change)
		mustCheck(t, c)
		switch {
		case werr != nil:
			if !errors.Is(gerr, ot.ErrLength) && !errors.Is(gerr, ot.ErrSurrogate) || errors.Is(werr, ot.ErrLength) != errors.Is(gerr, ot.ErrLength) {
				t.Fatalf("Apply(%v, %v): got error %v, want %v", d, change, gerr, werr)
			}
			if !c.Delta().Equal(d) {
				t.Fatalf("content changed on error")
			}
		case gerr != nil:
			t.Fatalf("Apply(%v, %v): %v", d, change, gerr)
		default:
			if got := c.Delta(); !got.Equal(want.Canonical()) {
				t.Fatalf("Apply(%v, %v) = %v, want %v", d, change, got, want)
			}
		}
	})
}

// TestContent_styleCollect checks that styles no run uses are dropped.
func TestContent_styleCollect(t *testing.T) {
	c := NewContent()
	for i := range 2000 {
		change := ot.New(deleteOp(c.Len()), insertOp("x", ot.Attributes{"n": float64(i)}))
		change = change.Canonical()
		if err := c.Apply(change); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.styles.m); n > 200 {
		t.Fatalf("%d styles kept for one run", n)
	}
	if got := c.Delta(); !got.Equal(ot.New(insertOp("x", ot.Attributes{"n": 1999}))) {
		t.Fatalf("got %v", got)
	}
}

// TestContent_traces replays every sequential editing trace and compares
// the result with the trace's final text.
func TestContent_traces(t *testing.T) {
	dir, err := trace.Dir()
	if err != nil {
		if os.Getenv("COWRITE_STRICT") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "sequential", "*.json.gz"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no traces in %s: %v", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json.gz")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tr, err := trace.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewContentFrom(ot.New(insertOp(tr.StartContent, nil)).Canonical())
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tr.Deltas() {
				if err := c.Apply(d); err != nil {
					t.Fatalf("edit %d: %v", i, err)
				}
			}
			mustCheck(t, c)
			if got := c.Text(); got != tr.EndContent {
				t.Fatalf("final text differs: %d bytes, want %d", len(got), len(tr.EndContent))
			}
		})
	}
}

// heapInUse returns the live heap after a full collection.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// memoryUse is the heap a content holds per byte of its text, for
// documents built in different ways.
type memoryUse struct {
	typed     float64 // typed at a cursor that jumps now and then
	scattered float64 // built of small inserts, each at a random place
	loaded    float64 // loaded whole by NewContentFrom
	formatted float64 // scattered inserts, every other one bold
}

// measureMemory builds documents of size bytes and measures the heap they
// hold. The documents are large enough for collector noise not to matter.
// The formatted document is built only when asked for.
func measureMemory(size int, seed uint64, formatted bool) memoryUse {
	r := rand.New(rand.NewPCG(seed, 3))
	build := func(next func(n int) (pos int, attrs ot.Attributes)) (*Content, float64) {
		before := heapInUse()
		c := NewContent()
		for c.bytes < size {
			pos, attrs := next(c.Len())
			s := randomText(r, 1+r.IntN(80))
			// A random place may cut a pair: skip it then.
			_ = c.Apply(ot.New(retainOp(pos, nil), insertOp(s, attrs)).Canonical())
		}
		ratio := float64(heapInUse()-before) / float64(c.bytes)
		return c, ratio
	}
	var m memoryUse
	cursor, last := 0, 0
	c, ratio := build(func(n int) (int, ot.Attributes) {
		if r.IntN(200) == 0 {
			cursor = r.IntN(n + 1)
		} else {
			cursor += n - last // just past the text typed last
		}
		last = n
		return min(cursor, n), nil
	})
	m.typed = ratio
	text := c.Text()
	runtime.KeepAlive(c)
	c = nil

	_, m.scattered = build(func(n int) (int, ot.Attributes) { return r.IntN(n + 1), nil })
	if formatted {
		bold := ot.Attributes{"bold": true}
		odd := false
		_, m.formatted = build(func(n int) (int, ot.Attributes) {
			if odd = !odd; odd {
				return r.IntN(n + 1), bold
			}
			return r.IntN(n + 1), nil
		})
	}

	before := heapInUse()
	c, err := NewContentFrom(ot.New(insertOp(text, nil)))
	if err != nil {
		panic(err)
	}
	m.loaded = float64(heapInUse()-before) / float64(c.bytes)
	runtime.KeepAlive(c)
	runtime.KeepAlive(text)
	return m
}

// TestContent_memory checks that a plain text content holds at most three
// times its text's bytes, however it was built.
func TestContent_memory(t *testing.T) {
	size := 2 << 20
	if testing.Short() {
		size = 1 << 20
	}
	m := measureMemory(size, 1, false)
	t.Logf("heap per text byte: typed %.2f, scattered %.2f, loaded %.2f", m.typed, m.scattered, m.loaded)
	if m.typed > 3 || m.scattered > 3 || m.loaded > 3 {
		t.Fatalf("content holds %.2f (typed), %.2f (scattered) and %.2f (loaded) bytes per byte of text, want at most 3",
			m.typed, m.scattered, m.loaded)
	}
}
