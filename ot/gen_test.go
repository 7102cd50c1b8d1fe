package ot_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/cowrite/cowrite/ot"
)

// testSeed returns the seed of a randomised test: COWRITE_SEED when set, a
// fresh one otherwise. It logs the seed so that a failure can be replayed.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COWRITE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COWRITE_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with COWRITE_SEED=%d)", seed, seed)
	return seed
}

// gen makes random documents and changes. Each document draws its text from
// one of several alphabets, so that some are plain ASCII, some BMP and some
// full of characters outside the BMP (two UTF-16 units each).
type gen struct {
	r *rand.Rand
	// split is the chance, out of 100, that a count is not snapped to a
	// character boundary and may cut a surrogate pair.
	split int
	// overshoot allows changes that retain or delete past the document.
	overshoot bool
	alphabet  []string
	// ops is the most ops of a document or change, 6 or, one case in ten,
	// 25.
	ops int
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

var alphabets = [][]string{
	{"a", "b", "c", " ", "x", "y"},
	{"a", "é", "ß", "中", "\n", "—"},
	{"😀", "𝄞", "a", "👍", "🏳", "\u200d"},
	{"a", "😀", "\n", "b", "é", "\x00"},
	{"😀", "𝄞"},
}

var (
	attrKeys   = []string{"bold", "italic", "color", "size", "link", "header"}
	attrValues = []any{true, false, "red", "#00ff00", 1.0, 2.0, 12.5, "https://x.test/", 0.0, ""}
	embeds     = []ot.Embed{
		{Type: "image", Value: "https://x.test/a.png"},
		{Type: "image", Value: "b.png"},
		{Type: "video", Value: "v.mp4"},
		{Type: "formula", Value: "e=mc^2"},
		{Type: "divider", Value: true},
		{Type: "mention", Value: map[string]any{"id": 7.0, "name": "ann"}},
		{Type: "list", Value: []any{1.0, "two", nil}},
	}
)

// newCase picks the alphabet and size of the next document.
func (g *gen) newCase() {
	g.alphabet = alphabets[g.r.IntN(len(alphabets))]
	g.ops = 6
	if g.r.IntN(10) == 0 {
		g.ops = 25
	}
}

func (g *gen) text() string {
	if g.alphabet == nil {
		g.newCase()
	}
	n := 1 + g.r.IntN(6)
	s := ""
	for range n {
		s += g.alphabet[g.r.IntN(len(g.alphabet))]
	}
	return s
}

// attrs returns nil or one to three attributes. With null, values may be
// nil: on a retain they remove the attribute.
func (g *gen) attrs(null bool) ot.Attributes {
	if g.r.IntN(2) == 0 {
		return nil
	}
	a := ot.Attributes{}
	for range 1 + g.r.IntN(3) {
		k := attrKeys[g.r.IntN(len(attrKeys))]
		switch {
		case null && g.r.IntN(3) == 0:
			a[k] = nil
		case g.r.IntN(40) == 0:
			// Objects compare by value when merging but never equal in
			// invert (JavaScript's ===).
			a[k] = map[string]any{"v": float64(g.r.IntN(2))}
		default:
			a[k] = attrValues[g.r.IntN(len(attrValues))]
		}
	}
	return a
}

func (g *gen) embed() ot.Embed { return embeds[g.r.IntN(len(embeds))] }

// document returns a random document of zero to six inserts.
func (g *gen) document() ot.Delta {
	g.newCase()
	var d ot.Delta
	for range g.r.IntN(g.ops + 1) {
		if g.r.IntN(5) == 0 {
			d.InsertEmbed(g.embed(), g.attrs(false))
		} else {
			d.Insert(g.text(), g.attrs(false))
		}
	}
	return d.Canonical()
}

// boundaries returns the UTF-16 offsets between the characters of a
// document, from 0 to its length.
func boundaries(d ot.Delta) []int {
	b := []int{0}
	at := 0
	for _, op := range d.Ops {
		if op.Embed != nil {
			at++
			b = append(b, at)
			continue
		}
		for _, c := range op.Insert {
			at += utf16.RuneLen(c)
			b = append(b, at)
		}
	}
	return b
}

// change returns a random change of doc: inserts, deletes, and retains with
// or without attributes. Counts end on character boundaries except with
// probability g.split percent.
func (g *gen) change(doc ot.Delta) ot.Delta {
	b := boundaries(doc)
	end := b[len(b)-1]
	var d ot.Delta
	pos := 0
	next := func() int { // a position after pos
		if g.r.IntN(100) < g.split || (g.overshoot && g.r.IntN(20) == 0) {
			to := pos + 1 + g.r.IntN(3)
			if !g.overshoot {
				to = min(to, end)
			}
			return to
		}
		i := 0
		for i < len(b) && b[i] <= pos {
			i++
		}
		if i == len(b) {
			return pos + 1
		}
		j := i + g.r.IntN(min(4, len(b)-i))
		if g.r.IntN(8) == 0 {
			j = i + g.r.IntN(len(b)-i)
		}
		return b[j]
	}
	for range g.r.IntN(max(g.ops, 6)) {
		k := g.r.IntN(10)
		if pos >= end && !g.overshoot && k >= 4 {
			k = g.r.IntN(4)
		}
		switch {
		case k < 3:
			d.Insert(g.text(), g.attrs(g.r.IntN(10) == 0))
		case k == 3:
			d.InsertEmbed(g.embed(), g.attrs(false))
		case k < 7:
			to := next()
			d.Retain(to-pos, g.attrs(true))
			pos = to
		default:
			to := next()
			d.Delete(to - pos)
			pos = to
		}
	}
	return d.Canonical()
}

// position returns a random position in or just past doc.
func (g *gen) position(doc ot.Delta) int { return g.r.IntN(doc.Length() + 2) }

// mustJSON encodes v or fails the test.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return string(b)
}

// parse decodes a delta from JSON or fails the test.
func parse(t testing.TB, s string) ot.Delta {
	t.Helper()
	var d ot.Delta
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return d
}

// checkResult checks a result against the error wantErr, when it is set,
// or else against want, a delta in JSON. It reports whether got is a
// result, for checks to follow.
func checkResult(t *testing.T, got ot.Delta, err, wantErr error, want string) bool {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("got %s, %v; want %v", js(got), err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if w := parse(t, want); !got.Equal(w) {
		t.Errorf("\n got  %s\n want %s", js(got), js(w))
	}
	return true
}

// js returns the JSON of a delta for failure messages.
func js(d ot.Delta) string {
	b, err := json.Marshal(d)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}
