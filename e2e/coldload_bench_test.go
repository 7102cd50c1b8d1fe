package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session"
)

// Cold load: a document whose log holds a million ops, with a snapshot
// every thousand ops as rooms write them, opened by a server that has not
// loaded it yet. The last snapshot is at coldOps-1000, as after a crash:
// loading replays the thousand ops after it, the most a room leaves.
const (
	coldOps       = 1_000_000
	coldSnapEvery = 1000
	coldBatch     = 5000 // ops per Append while building
	coldOpsPerTab = 1000 // ops per client id: a thousand client records
	coldMaxLen    = 50_000
	coldID        = "cold"
)

// buildColdStore writes the document into a new store in dir, without sync
// (the build is setup, not what is measured).
func buildColdStore(b *testing.B, dir string) {
	b.Helper()
	ctx := context.Background()
	store, err := persist.Open(ctx, persist.Options{Dir: dir, NoSync: true, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	meta := doc.Meta{ID: coldID, Epoch: "cold-epoch", Title: "Cold", Created: t0, Updated: t0}
	if err := store.Create(ctx, meta, ot.Delta{}); err != nil {
		b.Fatal(err)
	}
	content := doc.NewContent()
	rng := rand.New(rand.NewPCG(1, 2))
	cursor := 0
	batch := make([]doc.Sequenced, 0, coldBatch)
	for rev := doc.Rev(1); rev <= coldOps; rev++ {
		d := coldOp(rng, content.Len(), &cursor)
		if err := content.Apply(d); err != nil {
			b.Fatalf("op %d: %v", rev, err)
		}
		tab := uint64(rev-1) / coldOpsPerTab
		batch = append(batch, doc.Sequenced{
			Rev: rev, Client: fmt.Sprintf("tab%d", tab), Seq: uint64(rev-1)%coldOpsPerTab + 1,
			Delta: d, Digest: doc.Digest(d), Author: fmt.Sprintf("user%d", tab%20),
			Time: t0.Add(time.Duration(rev) * time.Second),
		})
		if rev%coldSnapEvery == 0 || rev == coldOps {
			prev := batch[0].Rev - 1
			if err := store.Append(ctx, coldID, prev, batch); err != nil {
				b.Fatalf("append after %d: %v", prev, err)
			}
			batch = batch[:0]
			if rev%coldSnapEvery == 0 && rev < coldOps {
				if err := store.SaveSnapshot(ctx, coldID, rev, content.Delta()); err != nil {
					b.Fatalf("snapshot at %d: %v", rev, err)
				}
			}
		}
	}
}

var coldBold = ot.Attributes{"bold": true}

// coldOp returns the next edit: mostly typing at a cursor that sometimes
// jumps, some deletes, and now and then a word made bold. The text grows
// to about coldMaxLen and stays there.
func coldOp(rng *rand.Rand, n int, cursor *int) ot.Delta {
	if rng.IntN(50) == 0 || *cursor > n {
		*cursor = rng.IntN(n + 1)
	}
	var d ot.Delta
	switch r := rng.IntN(100); {
	case n > 10 && r < 3:
		at := rng.IntN(n - 5)
		d.Retain(at, nil).Retain(5, coldBold)
	case n > 0 && (r < 15 || n >= coldMaxLen && r < 55):
		at := min(*cursor, n-1)
		d.Retain(at, nil).Delete(1)
		*cursor = at
	default:
		d.Retain(*cursor, nil).Insert(string(rune('a'+rng.IntN(26))), nil)
		*cursor++
	}
	return d.Canonical()
}

// welcomeConn is a session.Conn that hands the first frame it is sent to
// a channel.
type welcomeConn struct{ frames chan []byte }

func (c *welcomeConn) Send(frame []byte) error {
	select {
	case c.frames <- frame:
	default:
	}
	return nil
}

func (c *welcomeConn) Close(int, string) {}

// BenchmarkColdLoad measures how long a server that has not loaded the
// document takes from a client's hello to its welcome: a new manager and
// room, the newest snapshot and the ops after it read from the store and
// replayed, and the welcome, with the full content, encoded. ms/welcome is
// the figure; the target is 10 ms.
//
// "store-open" keeps one store open, as a running server does; "reopened"
// opens the store afresh before each load, so Badger's caches are cold
// (the operating system's page cache is not). The store is built first,
// which takes a while; run with -benchtime=20x or so.
func BenchmarkColdLoad(b *testing.B) {
	dir := b.TempDir()
	t0 := time.Now()
	buildColdStore(b, dir)
	b.Logf("built %d ops in %s", coldOps, time.Since(t0).Round(time.Millisecond))
	hello, err := session.Encode(&session.Hello{Version: session.ProtocolVersion, Client: "reader", Rev: -1, Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	open := func(b *testing.B) *persist.Store {
		store, err := persist.Open(ctx, persist.Options{Dir: dir, Logger: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		return store
	}
	// load joins the document through a new manager and returns the
	// time to the welcome. The manager is returned for closing later:
	// closing it would snapshot the document and spare the next load
	// its replay.
	load := func(b *testing.B, store *persist.Store) (time.Duration, *session.Manager) {
		m := session.NewManager(session.Config{Store: store, IdleUnload: time.Hour})
		c := &welcomeConn{frames: make(chan []byte, 1)}
		start := time.Now()
		p := m.Connect(coldID, c)
		p.Receive(hello)
		frame := <-c.frames
		elapsed := time.Since(start)
		msg, err := session.DecodeServer(frame)
		if err != nil {
			b.Fatal(err)
		}
		w, ok := msg.(*session.Welcome)
		if !ok {
			b.Fatalf("got %#v, want a welcome", msg)
		}
		if w.Rev != coldOps || w.Snapshot == nil {
			b.Fatalf("welcome at revision %d (snapshot %v), want %d", w.Rev, w.Snapshot != nil, coldOps)
		}
		p.Closed()
		b.ReportMetric(float64(w.Snapshot.Length()), "doc-chars")
		return elapsed, m
	}
	report := func(b *testing.B, total time.Duration, n int) {
		b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/welcome")
	}

	b.Run("store-open", func(b *testing.B) {
		store := open(b)
		var managers []*session.Manager
		var total time.Duration
		n := 0
		for b.Loop() {
			d, m := load(b, store)
			total += d
			n++
			managers = append(managers, m)
		}
		report(b, total, n)
		b.StopTimer()
		for _, m := range managers {
			m.Close(ctx)
		}
		store.Close()
	})
	b.Run("reopened", func(b *testing.B) {
		var total time.Duration
		n := 0
		for b.Loop() {
			b.StopTimer()
			store := open(b)
			b.StartTimer()
			d, m := load(b, store)
			b.StopTimer()
			total += d
			n++
			// Close the store under the manager: the room's snapshot on
			// close then fails quietly, and the next load still replays.
			store.Close()
			m.Close(ctx)
			b.StartTimer()
		}
		report(b, total, n)
	})
}
