package persist_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
)

// BenchmarkAppend measures durable appends of one op each, with one writer
// per document waiting for each append before the next, as rooms do.
// ops/s is the throughput; ops/commit shows how many appends shared a sync.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		docs   int
		noSync bool
	}{{1, false}, {10, false}, {50, false}, {50, true}} {
		name := fmt.Sprintf("docs=%d", bc.docs)
		if bc.noSync {
			name += "/nosync"
		}
		b.Run(name, func(b *testing.B) {
			benchAppend(b, bc.docs, bc.noSync)
		})
	}
}

func benchAppend(b *testing.B, docs int, noSync bool) {
	ctx := context.Background()
	s := open(b, b.TempDir(), func(o *persist.Options) { o.NoSync = noSync })
	for i := range docs {
		create(b, s, fmt.Sprintf("d%d", i), ot.Delta{})
	}
	before := s.Stats()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range docs {
		n := b.N / docs
		if i < b.N%docs {
			n++
		}
		wg.Go(func() {
			id := fmt.Sprintf("d%d", i)
			for r := doc.Rev(1); r <= doc.Rev(n); r++ {
				op := insertAt(r, "c", uint64(r), 0, "x")
				if err := s.Append(ctx, id, r-1, []doc.Sequenced{op}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	after := s.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	if c := after.Commits - before.Commits; c > 0 {
		b.ReportMetric(float64(after.Ops-before.Ops)/float64(c), "ops/commit")
	}
}

// BenchmarkLoad measures loading a document of a snapshot (about 10 KB of
// text) and the 500 ops after it.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	s := open(b, b.TempDir(), func(o *persist.Options) { o.NoSync = true })
	create(b, s, "d", text(strings.Repeat("lorem ipsum ", 800)+"\n"))
	for r := doc.Rev(1); r <= 500; r += 50 {
		var ops []doc.Sequenced
		for i := range doc.Rev(50) {
			ops = append(ops, insertAt(r+i, fmt.Sprint("c", (r+i)%7), uint64(r+i), int(r+i)*3, "word "))
		}
		if err := s.Append(ctx, "d", r-1, ops); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		st, err := s.Load(ctx, "d")
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Ops) != 500 {
			b.Fatalf("%d ops", len(st.Ops))
		}
	}
}
