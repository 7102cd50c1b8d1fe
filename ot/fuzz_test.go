package ot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/cowrite/cowrite/ot"
)

// Fuzz targets. Run one with, for example,
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s ./ot
//
// Inputs that failed once are kept under testdata/fuzz and run by every
// go test.

// FuzzDecode feeds bytes to the JSON decoder: it never panics, refuses
// with ErrInvalid, and what it accepts is valid, encodes, and decodes again
// to the same delta; FromValue agrees with it.
func FuzzDecode(f *testing.F) {
	for _, tc := range browserDeltas {
		f.Add([]byte(tc.json))
	}
	for _, tc := range badJSON {
		f.Add([]byte(tc.json))
	}
	for _, tc := range badJSONText {
		f.Add([]byte(tc.json))
	}
	f.Add([]byte(`[{"insert":"a\ud83d\ude00"},{"retain":3,"attributes":{"a":[1,{"b":null}]}},{"delete":1e2}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d ot.Delta
		err := d.UnmarshalJSON(data)
		var v any
		generic := json.Unmarshal(data, &v) == nil
		if err != nil {
			if !errors.Is(err, ot.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			// FromValue refuses the same, except for text that
			// encoding/json has already mended into U+FFFD.
			if generic && utf8.Valid(data) && !bytes.Contains(data, []byte(`\u`)) && !bytes.Contains(data, []byte(`\U`)) {
				if got, err := ot.FromValue(v); err == nil {
					t.Fatalf("UnmarshalJSON refused (%v) what FromValue read as %s", err, js(got))
				}
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("decoded %s does not validate: %v", js(d), err)
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", d, err)
		}
		var again ot.Delta
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%s does not decode again: %v", out, err)
		}
		if !again.Equal(d) {
			t.Fatalf("decoded again %s, want %s", js(again), out)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable: %s, then %s", out, out2)
		}
		if !generic {
			t.Fatalf("UnmarshalJSON accepted what encoding/json refuses: %q", data)
		}
		if got, err := ot.FromValue(v); err != nil || !got.Equal(d) {
			t.Fatalf("FromValue = %s, %v; UnmarshalJSON %s", js(got), err, out)
		}
		if got, err := ot.FromValue(d.Value()); err != nil || !got.Equal(d) {
			t.Fatalf("FromValue(Value()) = %s, %v; want %s", js(got), err, out)
		}
		// The algebra takes whatever decodes.
		c := d.Canonical()
		if !c.IsCanonical() || c.Validate() != nil {
			t.Fatalf("Canonical(%s) = %s", out, js(c))
		}
		if _, err := d.Compose(d); err != nil && !errors.Is(err, ot.ErrSurrogate) {
			t.Fatalf("Compose: %v", err)
		}
		if _, err := d.Transform(d, true); err != nil {
			t.Fatalf("Transform: %v", err)
		}
		d.TransformPosition(3, false)
	})
}

// fuzzInput hands out the bytes of a fuzz input as small choices; past the
// end every choice is 0.
type fuzzInput []byte

func (f *fuzzInput) n(k int) int {
	if len(*f) == 0 {
		return 0
	}
	c := (*f)[0]
	*f = (*f)[1:]
	return int(c) % k
}

var (
	fuzzText   = []string{"a", "b", "é", "中", "😀", "𝄞", "\x00", "\n", "\ue000"}
	fuzzKeys   = []string{"bold", "color", "link"}
	fuzzValues = []any{true, "red", 2.0, map[string]any{"x": 1.0}, false}
)

func (f *fuzzInput) text() string {
	s := ""
	for range 1 + f.n(5) {
		s += fuzzText[f.n(len(fuzzText))]
	}
	return s
}

func (f *fuzzInput) attrs(null bool) ot.Attributes {
	var a ot.Attributes
	for range f.n(3) {
		if a == nil {
			a = ot.Attributes{}
		}
		v := f.n(len(fuzzValues) + 1)
		if v == len(fuzzValues) {
			if !null {
				continue
			}
			a[fuzzKeys[f.n(len(fuzzKeys))]] = nil
			continue
		}
		a[fuzzKeys[f.n(len(fuzzKeys))]] = fuzzValues[v]
	}
	return a
}

func (f *fuzzInput) embed() ot.Embed {
	return ot.Embed{Type: fuzzKeys[f.n(2)], Value: fuzzValues[f.n(len(fuzzValues))]}
}

// document builds a document without null attributes.
func (f *fuzzInput) document() ot.Delta {
	var d ot.Delta
	for range f.n(6) {
		if f.n(5) == 0 {
			d.InsertEmbed(f.embed(), f.attrs(false))
		} else {
			d.Insert(f.text(), f.attrs(false))
		}
	}
	return d
}

// change builds a change whose counts may cut characters and may run past
// any document.
func (f *fuzzInput) change() ot.Delta {
	var d ot.Delta
	for range f.n(7) {
		switch f.n(5) {
		case 0:
			d.Insert(f.text(), f.attrs(true))
		case 1:
			d.InsertEmbed(f.embed(), f.attrs(false))
		case 2, 3:
			d.Retain(1+f.n(8), f.attrs(true))
		default:
			d.Delete(1 + f.n(8))
		}
	}
	return d.Canonical()
}

// FuzzAlgebra builds a document and two changes from the input and checks
// the laws: nothing panics, errors are the documented ones, concurrent
// changes converge, compose agrees with applying in sequence, invert
// undoes, TransformPosition agrees with Transform, and diff applies exactly.
func FuzzAlgebra(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"))
	f.Add([]byte("\x05\x04\x05\x04\x01\x00\x01\x02\x03\x02\x04\x06\x02\x03\x01\x00\x03\x04\x05\x06\x07\x01\x02\x03\x04\x05\x06\x07\x08\x09"))
	f.Add([]byte("emoji 😀 and 𝄞 and more bytes to build with, more and more"))
	f.Add(bytes.Repeat([]byte{4, 1, 3, 2}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(data)
		doc := in.document()
		a, b := in.change(), in.change()
		pos := in.n(40)
		fuzzLaws(t, doc, a, b, pos)
	})
}

func fuzzLaws(t *testing.T, doc, a, b ot.Delta, pos int) {
	ok := func(what string, d ot.Delta, err error, allowed ...error) bool {
		t.Helper()
		if err != nil {
			for _, e := range allowed {
				if errors.Is(err, e) {
					return false
				}
			}
			t.Fatalf("%s: %v\n doc %s\n a %s\n b %s", what, err, js(doc), js(a), js(b))
		}
		if !d.IsCanonical() || d.Validate() != nil {
			t.Fatalf("%s = %s: not canonical and valid\n doc %s\n a %s\n b %s", what, js(d), js(doc), js(a), js(b))
		}
		return true
	}
	// Whatever the input, only the documented errors.
	for _, p := range []bool{true, false} {
		x, err := a.Transform(b, p)
		ok("a.Transform(b)", x, err)
		a.TransformPosition(pos, p)
	}
	x, err := a.Compose(b)
	ok("a.Compose(b)", x, err, ot.ErrSurrogate)
	x, err = a.Invert(doc)
	ok("a.Invert(doc)", x, err, ot.ErrSurrogate)

	da, err := ot.Apply(doc, a)
	okA := ok("Apply(doc, a)", da, err, ot.ErrSurrogate, ot.ErrLength)
	db, err := ot.Apply(doc, b)
	okB := ok("Apply(doc, b)", db, err, ot.ErrSurrogate, ot.ErrLength)
	if okA {
		// Invert undoes a.
		inv, err := a.Invert(doc)
		ok("a.Invert(doc)", inv, err)
		undone, err := ot.Apply(da, inv)
		ok("undo", undone, err)
		if !undone.Equal(doc) {
			t.Fatalf("undo gives %s, want %s\n a %s\n a⁻¹ %s", js(undone), js(doc), js(a), js(inv))
		}
		// Diff applies exactly.
		d, err := doc.Diff(da)
		ok("Diff", d, err)
		if got, err := ot.Apply(doc, d); err != nil || !got.Equal(da) {
			t.Fatalf("diff %s gives %s, %v; want %s", js(d), js(got), err, js(da))
		}
	}
	if !okA || !okB {
		return
	}
	for _, aFirst := range []bool{true, false} {
		b2, err := a.Transform(b, aFirst)
		ok("a.Transform(b)", b2, err)
		a2, err := b.Transform(a, !aFirst)
		ok("b.Transform(a)", a2, err)
		left, err := ot.Apply(da, b2)
		ok("Apply(doc∘a, b')", left, err)
		right, err := ot.Apply(db, a2)
		ok("Apply(doc∘b, a')", right, err)
		if !left.Equal(right) {
			t.Fatalf("diverged (a first %v)\n doc %s\n a %s\n b %s\n a,b' %s\n b,a' %s", aFirst, js(doc), js(a), js(b), js(left), js(right))
		}
		// Compose agrees with applying in sequence.
		ab, err := a.Compose(b2)
		ok("a∘b'", ab, err)
		if got, err := ot.Apply(doc, ab); err != nil || !got.Equal(left) {
			t.Fatalf("doc∘(a∘b') = %s, %v; want %s\n doc %s\n a %s\n b' %s", js(got), err, js(left), js(doc), js(a), js(b2))
		}
	}
	// TransformPosition agrees with Transform, at a boundary of doc.
	bs := boundaries(doc)
	p := bs[pos%len(bs)]
	var marker ot.Delta
	marker.Retain(p, nil).InsertEmbed(ot.Embed{Type: "marker", Value: math.Pi}, nil)
	for _, priority := range []bool{true, false} {
		m2, err := a.Transform(marker, !priority)
		ok("a.Transform(marker)", m2, err)
		final, err := ot.Apply(da, m2)
		ok("Apply(marker)", final, err)
		at := 0
		for _, op := range final.Ops {
			if op.Embed != nil && op.Embed.Type == "marker" {
				break
			}
			at += op.Len()
		}
		if got := a.TransformPosition(p, priority); got != at {
			t.Fatalf("TransformPosition(%d, %v) = %d, marker at %d\n doc %s\n a %s", p, priority, got, at, js(doc), js(a))
		}
	}
}

// FuzzRawOps runs the algebra on ops that need not be valid: negative and
// huge counts, several kinds in one op, empty ops, bad UTF-8. Nothing may
// panic or hang, and Apply refuses what Validate refuses.
func FuzzRawOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("\x01\xff\x02\x80\x03\x7f\x04\x00\x05\x10"))
	f.Add(bytes.Repeat([]byte{1, 250, 2, 3}, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput(data)
		raw := func() ot.Delta {
			var d ot.Delta
			for range in.n(6) {
				var op ot.Op
				for range 1 + in.n(2) { // sometimes two fields
					switch in.n(6) {
					case 0:
						op.Insert = in.text()
					case 1:
						op.Insert = string([]byte{byte(in.n(256)), byte(in.n(256))})
					case 2:
						e := in.embed()
						op.Embed = &e
					case 3:
						op.Retain = in.n(9) - 4
					case 4:
						op.Delete = in.n(9) - 4
					default:
						op.Retain = []int{math.MaxInt, math.MinInt, ot.MaxCount, ot.MaxCount + 1}[in.n(4)]
					}
				}
				op.Attributes = in.attrs(true)
				d.Ops = append(d.Ops, op)
			}
			return d
		}
		doc, a, b := raw(), raw(), raw()
		for _, p := range []bool{true, false} {
			_, _ = a.Transform(b, p)
			a.TransformPosition(in.n(10), p)
		}
		_, _ = a.Compose(b)
		_, _ = doc.Compose(a)
		_, _ = a.Invert(doc)
		_, _ = doc.Slice(in.n(5), in.n(5)-1)
		_, _ = doc.Diff(a)
		_ = a.Canonical()
		_ = a.Length() + a.BaseLength() + a.ChangeLength()
		_, _ = json.Marshal(a)
		_ = a.Value()
		_ = a.Text()
		got, err := ot.Apply(doc, a)
		if a.Validate() != nil && !errors.Is(err, ot.ErrInvalid) {
			t.Fatalf("Apply(%#v) = %s, %v; want ErrInvalid", a, js(got), err)
		}
	})
}
