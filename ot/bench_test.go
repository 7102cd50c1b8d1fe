package ot_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/ot"
)

// Benchmarks of what a server does on every keystroke: transform a client's
// typing-sized change over a concurrent one, compose two changes, apply a
// change to a document. Run with
//
//	go test -run '^$' -bench . -benchmem ./ot

var sink ot.Delta

func typing(pos int, text string, attrs ot.Attributes) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Insert(text, attrs)
	return d
}

func deleting(pos, n int) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Delete(n)
	return d
}

func formatting(pos, n int, attrs ot.Attributes) ot.Delta {
	var d ot.Delta
	d.Retain(pos, nil).Retain(n, attrs)
	return d
}

// benchDocument returns a document of about n units in runs of formatted
// text, as Quill makes them.
func benchDocument(n int) ot.Delta {
	var d ot.Delta
	styles := []ot.Attributes{nil, {"bold": true}, nil, {"italic": true, "color": "#e60000"}, nil, {"link": "https://x.test/"}}
	for i := 0; d.Length() < n; i++ {
		d.Insert(strings.Repeat("lorem ipsum ", 1+i%4), styles[i%len(styles)])
		if i%10 == 9 {
			d.Insert("\n", ot.Attributes{"header": 2})
		}
	}
	return d
}

func BenchmarkTransform(b *testing.B) {
	cases := []struct {
		name string
		a, b ot.Delta
	}{
		{"insert_over_delete", deleting(200, 1), typing(1234, "a", nil)},
		{"delete_over_insert", typing(1234, "a", nil), deleting(200, 1)},
		{"insert_over_insert", typing(1234, "a", nil), typing(1234, "b", nil)},
		{"attributes", formatting(200, 5, ot.Attributes{"italic": true, "color": "red"}), formatting(202, 10, ot.Attributes{"bold": true, "color": "blue"})},
		{"insert_with_attributes", formatting(1000, 300, ot.Attributes{"bold": true}), typing(1234, "a", ot.Attributes{"bold": true})},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = tc.a.Transform(tc.b, true)
			}
			b.ReportMetric(float64(len(sink.Ops)), "ops/result")
		})
	}
}

func BenchmarkTransformPosition(b *testing.B) {
	a := typing(1234, "a", nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n += a.TransformPosition(2000, false)
	}
	_ = n
}

func BenchmarkCompose(b *testing.B) {
	cases := []struct {
		name string
		a, b ot.Delta
	}{
		{"typing", typing(1234, "a", nil), typing(1235, "b", nil)},
		{"typing_with_attributes", typing(1234, "a", ot.Attributes{"bold": true}), typing(1235, "b", ot.Attributes{"bold": true})},
		{"insert_then_delete", typing(1234, "a", nil), deleting(200, 1)},
		{"format_then_format", formatting(200, 5, ot.Attributes{"italic": true}), formatting(202, 10, ot.Attributes{"bold": true, "italic": nil})},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = tc.a.Compose(tc.b)
			}
			b.ReportMetric(float64(len(sink.Ops)), "ops/result")
		})
	}
}

// BenchmarkApply composes a keystroke onto a whole document: the cost of
// keeping a document as one Delta (package doc keeps a tree instead).
func BenchmarkApply(b *testing.B) {
	for _, size := range []int{2000, 20000} {
		doc := benchDocument(size)
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			change := typing(size/2, "a", nil)
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = ot.Apply(doc, change)
			}
			b.ReportMetric(float64(len(doc.Ops)), "doc-ops")
		})
	}
}

func BenchmarkInvert(b *testing.B) {
	doc := benchDocument(2000)
	change := deleting(1000, 20)
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = change.Invert(doc)
	}
}

func BenchmarkDiff(b *testing.B) {
	doc := benchDocument(2000)
	edited, err := ot.Apply(doc, typing(1000, "typo", nil))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = doc.Diff(edited)
	}
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(`{"ops":[{"retain":1234},{"insert":"a","attributes":{"bold":true}}]}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var d ot.Delta
		if err := json.Unmarshal(data, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	d := typing(1234, "a", ot.Attributes{"bold": true})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
}
