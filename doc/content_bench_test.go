package doc

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cowrite/cowrite/doc/trace"
	"github.com/cowrite/cowrite/ot"
)

// benchTraces loads the sequential traces, or skips the benchmark.
func benchTraces(b *testing.B) map[string]*trace.Trace {
	b.Helper()
	files, err := trace.Sequential()
	if err != nil {
		b.Skip(err)
	}
	out := make(map[string]*trace.Trace)
	for _, f := range files {
		t, err := trace.Load(f)
		if err != nil {
			b.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json.gz")] = t
	}
	return out
}

func reportEdits(b *testing.B, edits int) {
	total := float64(edits) * float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/edit")
	b.ReportMetric(total/b.Elapsed().Seconds(), "edits/s")
}

// BenchmarkReplay replays each sequential trace through Content.Apply,
// from its start content to its end; one op is one whole trace. The deltas
// are built before the timer starts.
func BenchmarkReplay(b *testing.B) {
	traces := benchTraces(b)
	for _, name := range slices.Sorted(maps.Keys(traces)) {
		tr := traces[name]
		b.Run(name, func(b *testing.B) {
			deltas := tr.Deltas()
			start := ot.New(ot.Op{Insert: tr.StartContent}).Canonical()
			b.ReportAllocs()
			for b.Loop() {
				c, _ := NewContentFrom(start)
				for _, d := range deltas {
					if err := c.Apply(d); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportEdits(b, len(deltas))
		})
	}
}

// BenchmarkReplaySplice is the baseline for BenchmarkReplay: the same
// traces replayed as splices of one []byte. While the text is all ASCII a
// position is a byte offset; otherwise the splice scans for it from the
// start.
func BenchmarkReplaySplice(b *testing.B) {
	traces := benchTraces(b)
	for _, name := range slices.Sorted(maps.Keys(traces)) {
		tr := traces[name]
		b.Run(name, func(b *testing.B) {
			var patches []trace.Patch
			for _, t := range tr.Txns {
				patches = append(patches, t.Patches...)
			}
			var s splicer
			for b.Loop() {
				s = splicer{buf: []byte(tr.StartContent)}
				s.multi = countMulti(s.buf)
				for _, p := range patches {
					s.splice(p.Pos, p.Del, p.Ins)
				}
			}
			if string(s.buf) != tr.EndContent {
				b.Fatal("splice replay gives the wrong text")
			}
			reportEdits(b, len(patches))
		})
	}
}

// A splicer is a text as one []byte.
type splicer struct {
	buf   []byte
	multi int // bytes of multi-byte characters in buf
}

// offset returns the byte offset of UTF-16 position u.
func (s *splicer) offset(u int) int {
	if s.multi == 0 {
		return u
	}
	n := 0
	for i, c := range s.buf {
		if c&0xC0 == 0x80 {
			continue
		}
		if n == u {
			return i
		}
		n++
		if c >= 0xF0 {
			n++
		}
	}
	return len(s.buf)
}

func (s *splicer) splice(pos, del int, ins string) {
	start := s.offset(pos)
	end := s.offset(pos + del)
	s.multi += countMulti([]byte(ins)) - countMulti(s.buf[start:end])
	buf := s.buf
	n := len(buf) - (end - start) + len(ins)
	if n > cap(buf) {
		grown := make([]byte, len(buf), 2*n)
		copy(grown, buf)
		buf = grown
	}
	tail := buf[end:]
	buf = buf[:n]
	copy(buf[start+len(ins):], tail)
	copy(buf[start:], ins)
	s.buf = buf
}

func countMulti(b []byte) int {
	n := 0
	for _, c := range b {
		if c >= 0x80 {
			n++
		}
	}
	return n
}

// benchDoc returns a content of size bytes of prose-like ASCII text.
func benchDoc(b *testing.B, size int) *Content {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	var sb strings.Builder
	for sb.Len() < size {
		sb.WriteString(strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(8)))
		if r.IntN(12) == 0 {
			sb.WriteByte('\n')
		} else {
			sb.WriteByte(' ')
		}
	}
	c, err := NewContentFrom(ot.New(ot.Op{Insert: sb.String()[:size]}))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

var benchSizes = []struct {
	name string
	size int
}{
	{"10KB", 10 << 10},
	{"100KB", 100 << 10},
	{"1MB", 1 << 20},
	{"10MB", 10 << 20},
}

// BenchmarkApply measures one edit on documents from 10 KB to 10 MB: a
// character inserted at a random place, then deleted again, so the size
// stays put. ns/edit is the cost of one Apply.
func BenchmarkApply(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("random/"+s.name, func(b *testing.B) {
			c := benchDoc(b, s.size)
			r := rand.New(rand.NewPCG(2, 2))
			const n = 1 << 12
			edits := make([]ot.Delta, 0, 2*n)
			for range n {
				p := r.IntN(c.Len())
				edits = append(edits, ot.New(ot.Op{Retain: p}, ot.Op{Insert: "x"}).Canonical(),
					ot.New(ot.Op{Retain: p}, ot.Op{Delete: 1}).Canonical())
			}
			applyEdits(b, c, edits, 2)
		})
		b.Run("typing/"+s.name, func(b *testing.B) {
			// Type a word at a place, delete it, move on: a cursor.
			c := benchDoc(b, s.size)
			r := rand.New(rand.NewPCG(3, 3))
			const n = 1 << 10
			var edits []ot.Delta
			for range n {
				p := r.IntN(c.Len())
				for k := range 8 {
					edits = append(edits, ot.New(ot.Op{Retain: p + k}, ot.Op{Insert: "y"}).Canonical())
				}
				for k := 8; k > 0; k-- {
					edits = append(edits, ot.New(ot.Op{Retain: p + k - 1}, ot.Op{Delete: 1}).Canonical())
				}
			}
			applyEdits(b, c, edits, 1)
		})
		b.Run("format/"+s.name, func(b *testing.B) {
			// Bold a word at a random place and unbold it again.
			c := benchDoc(b, s.size)
			r := rand.New(rand.NewPCG(4, 4))
			const n = 1 << 12
			edits := make([]ot.Delta, 0, 2*n)
			for range n {
				p := r.IntN(c.Len() - 10)
				edits = append(edits, ot.New(ot.Op{Retain: p}, ot.Op{Retain: 8, Attributes: ot.Attributes{"bold": true}}),
					ot.New(ot.Op{Retain: p}, ot.Op{Retain: 8, Attributes: ot.Attributes{"bold": nil}}))
			}
			applyEdits(b, c, edits, 2)
		})
	}
}

// applyEdits applies edits to c in turn, step of them per iteration,
// starting over at the end, and reports ns/edit.
func applyEdits(b *testing.B, c *Content, edits []ot.Delta, step int) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for range step {
			if err := c.Apply(edits[i%len(edits)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(step*b.N), "ns/edit")
}

// BenchmarkNewContentFrom loads a document whole.
func BenchmarkNewContentFrom(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			d := benchDoc(b, s.size).Delta()
			b.SetBytes(int64(s.size))
			for b.Loop() {
				if _, err := NewContentFrom(d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDelta takes a snapshot of a document.
func BenchmarkDelta(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			c := benchDoc(b, s.size)
			b.SetBytes(int64(s.size))
			for b.Loop() {
				c.Delta()
			}
		})
	}
}

// BenchmarkMemory reports the heap a content holds per byte of its text:
// typed at a cursor, built of scattered inserts, loaded whole, and built
// of scattered inserts every other one bold.
func BenchmarkMemory(b *testing.B) {
	for _, size := range []int{1 << 20, 8 << 20} {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			var m memoryUse
			for b.Loop() {
				m = measureMemory(size, 1, true)
			}
			b.ReportMetric(m.typed, "typed-heap/text")
			b.ReportMetric(m.scattered, "scattered-heap/text")
			b.ReportMetric(m.loaded, "loaded-heap/text")
			b.ReportMetric(m.formatted, "formatted-heap/text")
		})
	}
}
