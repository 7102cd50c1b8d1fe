package ot_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cowrite/cowrite/ot"
)

// The differential test: random cases run through quill-delta 5.1.0 itself
// (testdata/quillref.cjs, under Node) and through package ot must agree.

const quillVersion = "5.1.0"

// refCase is one line of input to quillref.cjs.
type refCase struct {
	ID       int       `json:"id"`
	Op       string    `json:"op"` // compose, transform, position, invert, diff
	A        ot.Delta  `json:"a"`
	B        *ot.Delta `json:"b,omitempty"`
	Index    int       `json:"index"`
	Priority bool      `json:"priority"`
}

func (c refCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s a=%s", c.Op, js(c.A))
	if c.B != nil {
		fmt.Fprintf(&b, " b=%s", js(*c.B))
	}
	if c.Op == "position" {
		fmt.Fprintf(&b, " index=%d", c.Index)
	}
	if c.Op == "position" || c.Op == "transform" {
		fmt.Fprintf(&b, " priority=%v", c.Priority)
	}
	return b.String()
}

// refResult is one line of output of quillref.cjs.
type refResult struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Split  bool            `json:"split"`
	Error  string          `json:"error"`
}

// quillRef runs cases through quill-delta in one Node process. It skips the
// test when Node or quill-delta is missing, unless COWRITE_STRICT=1.
func quillRef(t *testing.T, cases []refCase) []refResult {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("COWRITE_STRICT") == "1" {
			t.Fatalf("%s (COWRITE_STRICT=1; run `cd web && npm ci` and install Node.js)", msg)
		}
		t.Skipf("%s; skipping the differential test against quill-delta", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found: %v", err)
	}
	modules, err := filepath.Abs(filepath.Join("..", "web", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "quill-delta", "package.json")); err != nil {
		missing("quill-delta is not installed under %s: %v", modules, err)
	}

	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatalf("encode case %v: %v", c, err)
		}
	}
	cmd := exec.Command(node, filepath.Join("testdata", "quillref.cjs"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node quillref.cjs: %v\n%s", err, stderr.String())
	}
	t.Logf("quill-delta ran %d cases in %v", len(cases), time.Since(start).Round(time.Millisecond))

	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	if !sc.Scan() {
		t.Fatalf("quillref.cjs wrote nothing\n%s", stderr.String())
	}
	var head struct{ Version string }
	if err := json.Unmarshal(sc.Bytes(), &head); err != nil || head.Version != quillVersion {
		t.Fatalf("quillref.cjs header %q: want quill-delta %s (err %v)", sc.Text(), quillVersion, err)
	}
	results := make([]refResult, 0, len(cases))
	for sc.Scan() {
		var r refResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("quillref.cjs output %q: %v", sc.Text(), err)
		}
		if r.ID != len(results) {
			t.Fatalf("quillref.cjs answered case %d, want %d", r.ID, len(results))
		}
		results = append(results, r)
	}
	if len(results) != len(cases) {
		t.Fatalf("quillref.cjs answered %d cases of %d", len(results), len(cases))
	}
	return results
}

// quillCases makes n random cases: compose of a document and a change, of
// two changes in sequence and of two unrelated changes; transform of two
// concurrent changes with both priorities; transformPosition with both
// priorities; invert; diff of related and unrelated documents.
func quillCases(g *gen, n int) []refCase {
	cases := make([]refCase, 0, n+1)
	add := func(c refCase) {
		c.ID = len(cases)
		cases = append(cases, c)
	}
	ptr := func(d ot.Delta) *ot.Delta { return &d }
	for len(cases) < n {
		g.split = []int{0, 2, 10}[g.r.IntN(3)]
		g.overshoot = false
		doc := g.document()
		switch k := g.r.IntN(20); {
		case k < 3: // a document and a change
			add(refCase{Op: "compose", A: doc, B: ptr(g.change(doc))})
		case k < 6: // two changes in sequence
			a := g.change(doc)
			next, err := ot.Apply(doc, a)
			if err != nil {
				next = doc
			}
			add(refCase{Op: "compose", A: a, B: ptr(g.change(next))})
		case k < 7: // unrelated changes, possibly longer than each other
			g.overshoot = true
			add(refCase{Op: "compose", A: g.change(doc), B: ptr(g.change(g.document()))})
		case k < 11: // concurrent changes
			g.overshoot = g.r.IntN(8) == 0
			a, b := g.change(doc), g.change(doc)
			add(refCase{Op: "transform", A: a, B: ptr(b), Priority: true})
			add(refCase{Op: "transform", A: a, B: ptr(b), Priority: false})
		case k < 14:
			a := g.change(doc)
			i := g.position(doc)
			add(refCase{Op: "position", A: a, Index: i, Priority: true})
			add(refCase{Op: "position", A: a, Index: i, Priority: false})
		case k < 18:
			if g.r.IntN(3) == 0 { // a base whose inserts may hold nulls
				if next, err := ot.Apply(doc, g.change(doc)); err == nil {
					doc = next
				}
			}
			add(refCase{Op: "invert", A: g.change(doc), B: ptr(doc)})
		default:
			g.split = 0
			other := g.document()
			if g.r.IntN(3) > 0 {
				next, err := ot.Apply(doc, g.change(doc))
				if err == nil {
					other = next
				}
			}
			add(refCase{Op: "diff", A: doc, B: ptr(other)})
		}
	}
	return cases
}

// editSize returns how many characters (embeds count one) a change of
// document base inserts and deletes.
func editSize(base, change ot.Delta) int {
	b := boundaries(base)
	chars := func(from, to int) int { // characters between two offsets
		i, _ := slices.BinarySearch(b, from)
		j, _ := slices.BinarySearch(b, to)
		return j - i
	}
	n, at := 0, 0
	for _, op := range change.Ops {
		switch {
		case op.Embed != nil:
			n++
		case op.Insert != "":
			n += utf8.RuneCountInString(op.Insert)
		case op.Delete != 0:
			n += chars(at, at+op.Delete)
			at += op.Delete
		default:
			at += op.Retain
		}
	}
	return n
}

// hasNull reports whether a document has an attribute set to null, which
// no retain can make: quill-delta's diff does not reach such documents.
func hasNull(doc ot.Delta) bool {
	for _, op := range doc.Ops {
		for _, v := range op.Attributes {
			if v == nil {
				return true
			}
		}
	}
	return false
}

func TestQuill(t *testing.T) {
	n := 12000 // about half a second
	if s := os.Getenv("COWRITE_QUILL_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("COWRITE_QUILL_CASES=%q: %v", s, err)
		}
	}
	g := newGen(testSeed(t))
	cases := quillCases(g, n)
	results := quillRef(t, cases)

	start := time.Now()
	failures := 0
	fail := func(c refCase, format string, args ...any) {
		t.Helper()
		failures++
		if failures <= 20 {
			t.Errorf("case %d: %s\n  %s", c.ID, fmt.Sprintf(format, args...), c)
		}
	}
	count := map[string]int{}
	splits, oursDiff, quillDiff := 0, 0, 0
	for i, c := range cases {
		r := results[i]
		count[c.Op]++
		if r.Error != "" {
			fail(c, "quill-delta threw %s", r.Error)
			continue
		}
		if r.Split {
			splits++
		}
		if c.Op == "position" {
			var want int
			if err := json.Unmarshal(r.Result, &want); err != nil {
				fail(c, "quill-delta result %s: %v", r.Result, err)
				continue
			}
			if got := c.A.TransformPosition(c.Index, c.Priority); got != want {
				fail(c, "TransformPosition = %d, quill-delta %d", got, want)
			}
			continue
		}
		if c.Op == "diff" {
			got, err := c.A.Diff(*c.B)
			if err != nil {
				fail(c, "Diff: %v", err)
				continue
			}
			if after, err := ot.Apply(c.A, got); err != nil || !after.Equal(*c.B) {
				fail(c, "Diff = %s applies to %s (err %v)", js(got), js(after), err)
			}
			if !got.IsCanonical() {
				fail(c, "Diff = %s is not canonical", js(got))
			}
			if r.Split {
				continue // quill-delta's own answer cuts a character in two
			}
			theirs := parse(t, string(r.Result))
			if after, err := ot.Apply(c.A, theirs); err != nil || !after.Equal(*c.B) {
				if !hasNull(*c.B) {
					fail(c, "quill-delta's diff %s applies to %s (err %v)", r.Result, js(after), err)
				}
				continue
			}
			ours, ref := editSize(c.A, got), editSize(c.A, theirs)
			oursDiff += ours
			quillDiff += ref
			if ours > ref+2 {
				fail(c, "Diff = %s changes %d characters, quill-delta's %s only %d", js(got), ours, r.Result, ref)
			}
			continue
		}

		var got ot.Delta
		var err error
		switch c.Op {
		case "compose":
			got, err = c.A.Compose(*c.B)
		case "transform":
			got, err = c.A.Transform(*c.B, c.Priority)
		case "invert":
			got, err = c.A.Invert(*c.B)
		}
		if r.Split {
			if !errors.Is(err, ot.ErrSurrogate) {
				fail(c, "got %s, error %v; want ErrSurrogate (quill-delta cut a pair: %s)", js(got), err, r.Result)
			}
			continue
		}
		if err != nil {
			fail(c, "error %v; quill-delta gave %s", err, r.Result)
			continue
		}
		want := parse(t, string(r.Result))
		if !got.Equal(want) {
			fail(c, "\n  got  %s\n  want %s", js(got), r.Result)
			continue
		}
		// Equal treats numbers and empty attributes loosely: compare the
		// JSON values too.
		if !sameJSON(t, []byte(js(got)), r.Result) {
			fail(c, "same ops but other JSON:\n  got  %s\n  want %s", js(got), r.Result)
		}
		if !got.IsCanonical() {
			fail(c, "result %s is not canonical", js(got))
		}
	}
	if failures > 20 {
		t.Errorf("... and %d more failures", failures-20)
	}
	t.Logf("%d cases %v, %d cut a surrogate pair in quill-delta; checked in %v",
		len(cases), count, splits, time.Since(start).Round(time.Millisecond))
	t.Logf("diff: ours inserts and deletes %d characters in all, quill-delta %d", oursDiff, quillDiff)
	if splits == 0 || count["diff"] == 0 || count["position"] == 0 {
		t.Errorf("the generator made no case of some kind: %v, %d splits", count, splits)
	}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return mustJSON(t, x) == mustJSON(t, y) // encoding/json sorts map keys
}

// The expectations of the table tests are quill-delta's answers.
func TestQuill_Tables(t *testing.T) {
	type expect struct {
		name string
		want string // a delta, or a position
		err  error
	}
	var cases []refCase
	var wants []expect
	add := func(c refCase, e expect) {
		c.ID = len(cases)
		cases = append(cases, c)
		wants = append(wants, e)
	}
	ptr := func(s string) *ot.Delta { d := parse(t, s); return &d }
	for _, tc := range composeTests {
		add(refCase{Op: "compose", A: parse(t, tc.a), B: ptr(tc.b)}, expect{"compose/" + tc.name, tc.want, tc.err})
	}
	for _, tc := range transformTests {
		add(refCase{Op: "transform", A: parse(t, tc.a), B: ptr(tc.b), Priority: tc.priority}, expect{"transform/" + tc.name, tc.want, nil})
	}
	for _, tc := range positionTests {
		add(refCase{Op: "position", A: parse(t, tc.a), Index: tc.index, Priority: tc.priority}, expect{"position/" + tc.name, strconv.Itoa(tc.want), nil})
	}
	for _, tc := range invertTests {
		add(refCase{Op: "invert", A: parse(t, tc.change), B: ptr(tc.base)}, expect{"invert/" + tc.name, tc.want, tc.err})
	}
	results := quillRef(t, cases)
	for i, r := range results {
		w := wants[i]
		switch {
		case r.Error != "":
			t.Errorf("%s: quill-delta threw %s", w.name, r.Error)
		case w.err != nil:
			if !r.Split {
				t.Errorf("%s: quill-delta cut no surrogate pair: %s", w.name, r.Result)
			}
		case r.Split:
			t.Errorf("%s: quill-delta cut a surrogate pair: %s", w.name, r.Result)
		case cases[i].Op == "position":
			if string(r.Result) != w.want {
				t.Errorf("%s: quill-delta says %s, the table %s", w.name, r.Result, w.want)
			}
		case !sameJSON(t, r.Result, []byte(js(parse(t, w.want)))):
			t.Errorf("%s: quill-delta says\n %s\nthe table\n %s", w.name, r.Result, w.want)
		}
	}
}
