package persist_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
)

// open opens a store in dir, closed when the test ends.
func open(t testing.TB, dir string, mod ...func(*persist.Options)) *persist.Store {
	t.Helper()
	opts := persist.Options{Dir: dir, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
	for _, m := range mod {
		m(&opts)
	}
	s, err := persist.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func text(s string) ot.Delta {
	var d ot.Delta
	d.Insert(s, nil)
	return d
}

func newMeta(id string) doc.Meta {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return doc.Meta{ID: id, Epoch: "epoch-" + id, Title: "Title of " + id, Created: now, Updated: now}
}

func create(t testing.TB, s *persist.Store, id string, initial ot.Delta) {
	t.Helper()
	if err := s.Create(context.Background(), newMeta(id), initial); err != nil {
		t.Fatal(err)
	}
}

// insertAt returns an op that inserts s at pos, as revision rev by client
// c with seq.
func insertAt(rev doc.Rev, c string, seq uint64, pos int, s string) doc.Sequenced {
	var d ot.Delta
	d.Retain(pos, nil).Insert(s, nil)
	return doc.Sequenced{Rev: rev, Client: c, Seq: seq, Delta: d, Digest: doc.Digest(d), Author: "user-" + c,
		Time: time.Unix(1700000000+int64(rev), 0).UTC()}
}

func sameOps(t *testing.T, got, want []doc.Sequenced) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d ops, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Rev != w.Rev || g.Client != w.Client || g.Seq != w.Seq || g.Digest != w.Digest ||
			g.Author != w.Author || g.User != w.User || !g.Time.Equal(w.Time) || !g.Delta.Equal(w.Delta) {
			t.Errorf("op %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestStore_RoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)

	var initial ot.Delta
	initial.Insert("Hi", ot.Attributes{"bold": true}).InsertEmbed(ot.Embed{Type: "image", Value: "x.png"}, nil).Insert("\n", nil)
	meta := newMeta("doc.1")
	if err := s.Create(ctx, meta, initial); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Meta(ctx, "doc.1"); err != nil || got != meta {
		t.Fatalf("Meta = %+v, %v; want %+v", got, err, meta)
	}
	st, err := s.Load(ctx, "doc.1")
	if err != nil {
		t.Fatal(err)
	}
	if st.SnapshotRev != 0 || !st.Snapshot.Equal(initial) || len(st.Ops) != 0 || len(st.Clients) != 0 || st.Meta != meta {
		t.Fatalf("Load after Create = %+v", st)
	}

	ops := []doc.Sequenced{insertAt(1, "a", 1, 0, "x"), insertAt(2, "b", 1, 1, "y"), insertAt(3, "a", 2, 0, "z")}
	ops[0].User, ops[2].User = "ann", "ann" // a's ops came with a verified user; b's did not
	if err := s.Append(ctx, "doc.1", 0, ops[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "doc.1", 2, ops[2:]); err != nil {
		t.Fatal(err)
	}
	content, _ := ot.Apply(initial, ops[0].Delta)
	if err := s.SaveSnapshot(ctx, "doc.1", 1, content); err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, s *persist.Store) {
		st, err := s.Load(ctx, "doc.1")
		if err != nil {
			t.Fatal(err)
		}
		if st.Meta.Rev != 3 || !st.Meta.Updated.Equal(ops[2].Time) || !st.Meta.Created.Equal(meta.Created) || st.Meta.Title != meta.Title || st.Meta.Epoch != meta.Epoch {
			t.Errorf("meta = %+v", st.Meta)
		}
		if st.SnapshotRev != 1 || !st.Snapshot.Equal(content) {
			t.Errorf("snapshot = %d %v, want 1 %v", st.SnapshotRev, st.Snapshot, content)
		}
		sameOps(t, st.Ops, ops[1:])
		wantClients := map[string]doc.ClientState{
			"a": {Seq: 2, Digest: ops[2].Digest, Rev: 3, User: "ann"},
			"b": {Seq: 1, Digest: ops[1].Digest, Rev: 2},
		}
		if !reflect.DeepEqual(st.Clients, wantClients) {
			t.Errorf("clients = %+v, want %+v", st.Clients, wantClients)
		}
		if _, err := doc.Load(st, doc.Options{}); err != nil {
			t.Errorf("doc.Load: %v", err)
		}
		got, err := s.Ops(ctx, "doc.1", 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		sameOps(t, got, ops)
		got, err = s.Ops(ctx, "doc.1", 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		sameOps(t, got, ops[1:2])
		if got, err := s.Ops(ctx, "doc.1", 3, 3); err != nil || len(got) != 0 {
			t.Errorf("Ops(3, 3) = %v, %v", got, err)
		}
		if _, err := s.Ops(ctx, "doc.1", 0, 4); !errors.Is(err, doc.ErrNotFound) {
			t.Errorf("Ops past the end: %v, want ErrNotFound", err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || list[0].ID != "doc.1" || list[0].Rev != 3 {
			t.Errorf("List = %+v, %v", list, err)
		}
	}
	t.Run("open", func(t *testing.T) { check(t, s) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("reopened", func(t *testing.T) { check(t, open(t, dir)) })
}

func TestStore_NotFound(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	calls := map[string]error{}
	_, calls["Load"] = s.Load(ctx, "nope")
	_, calls["Meta"] = s.Meta(ctx, "nope")
	_, calls["Ops"] = s.Ops(ctx, "nope", 0, 0)
	_, calls["At"] = s.At(ctx, "nope", 0)
	calls["Append"] = s.Append(ctx, "nope", 0, []doc.Sequenced{insertAt(1, "a", 1, 0, "x")})
	calls["SaveSnapshot"] = s.SaveSnapshot(ctx, "nope", 0, ot.Delta{})
	calls["Delete"] = s.Delete(ctx, "nope")
	for name, err := range calls {
		if !errors.Is(err, doc.ErrNotFound) {
			t.Errorf("%s: %v, want doc.ErrNotFound", name, err)
		}
	}
	if len(s.Keys()) != 0 {
		t.Errorf("keys written: %q", s.Keys())
	}
}

func TestStore_InvalidArguments(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, id := range []string{"", ".x", "a/b", "a\x00b", strings.Repeat("x", 129)} {
		if err := s.Create(ctx, doc.Meta{ID: id, Epoch: "e"}, ot.Delta{}); !errors.Is(err, persist.ErrInvalidID) {
			t.Errorf("Create(%q): %v, want ErrInvalidID", id, err)
		}
		if _, err := s.Load(ctx, id); !errors.Is(err, persist.ErrInvalidID) {
			t.Errorf("Load(%q): %v, want ErrInvalidID", id, err)
		}
	}
	create(t, s, "d", text("abc"))
	var retain ot.Delta
	retain.Retain(1, nil)
	tests := []struct {
		name string
		err  error
	}{
		{"create_rev", s.Create(ctx, doc.Meta{ID: "e", Epoch: "e", Rev: 1}, ot.Delta{})},
		{"create_epoch", s.Create(ctx, doc.Meta{ID: "e"}, ot.Delta{})},
		{"create_not_document", s.Create(ctx, doc.Meta{ID: "e", Epoch: "e"}, retain)},
		{"append_gap", s.Append(ctx, "d", 0, []doc.Sequenced{insertAt(2, "a", 1, 0, "x")})},
		{"append_order", s.Append(ctx, "d", 0, []doc.Sequenced{insertAt(1, "a", 1, 0, "x"), insertAt(1, "a", 2, 0, "x")})},
		{"append_bad_delta", s.Append(ctx, "d", 0, []doc.Sequenced{{Rev: 1, Delta: ot.New(ot.Op{Retain: -1})}})},
		{"append_seq_zero", s.Append(ctx, "d", 0, []doc.Sequenced{{Rev: 1, Client: "c", Delta: text("x")}})},
		{"snapshot_future", s.SaveSnapshot(ctx, "d", 1, text("abc"))},
		{"snapshot_not_document", s.SaveSnapshot(ctx, "d", 0, retain)},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, persist.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, tt.err)
		}
	}
	if _, err := s.Ops(ctx, "d", 2, 1); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("Ops(2, 1): %v, want ErrInvalid", err)
	}
	if m, err := s.Meta(ctx, "d"); err != nil || m.Rev != 0 {
		t.Errorf("after refused calls: %+v, %v", m, err)
	}
	if _, err := s.Meta(ctx, "e"); !errors.Is(err, doc.ErrNotFound) {
		t.Errorf("refused Create wrote: %v", err)
	}
}

func TestStore_CreateExists(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	create(t, s, "d", text("one"))
	if err := s.Create(ctx, newMeta("d"), text("two")); !errors.Is(err, doc.ErrExists) {
		t.Fatalf("second Create: %v, want doc.ErrExists", err)
	}
	if c, err := s.At(ctx, "d", 0); err != nil || !c.Equal(text("one")) {
		t.Errorf("content after second Create: %v, %v", c, err)
	}
}

func TestStore_AppendRevTaken(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	create(t, s, "d", ot.Delta{})
	first := insertAt(1, "a", 1, 0, "x")
	if err := s.Append(ctx, "d", 0, []doc.Sequenced{first}); err != nil {
		t.Fatal(err)
	}
	before := s.Keys()
	for name, prev := range map[string]doc.Rev{"behind": 0, "ahead": 5} {
		ops := []doc.Sequenced{insertAt(prev+1, "b", 1, 0, "y"), insertAt(prev+2, "b", 2, 0, "z")}
		if err := s.Append(ctx, "d", prev, ops); !errors.Is(err, doc.ErrRevTaken) {
			t.Errorf("%s: %v, want doc.ErrRevTaken", name, err)
		}
	}
	if after := s.Keys(); !reflect.DeepEqual(before, after) {
		t.Errorf("refused appends wrote keys: before %q, after %q", before, after)
	}
	if err := s.Append(ctx, "d", 0, nil); !errors.Is(err, doc.ErrRevTaken) {
		t.Errorf("empty append at 0: %v, want doc.ErrRevTaken", err)
	}
	if err := s.Append(ctx, "d", 1, nil); err != nil {
		t.Errorf("empty append at 1: %v", err)
	}
	st, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	sameOps(t, st.Ops, []doc.Sequenced{first})
	if _, ok := st.Clients["b"]; ok {
		t.Error("a refused append left a client record")
	}
}

// TestStore_ConcurrentAppends runs one writer per document, as rooms do,
// plus two writers racing on one document, and checks after reopening that
// every acknowledged op is there, in order, and that commits were shared.
func TestStore_ConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	const docs, perDoc = 24, 40
	for i := range docs {
		create(t, s, fmt.Sprintf("doc-%02d", i), ot.Delta{})
	}
	create(t, s, "race", ot.Delta{})

	var wg sync.WaitGroup
	errs := make(chan error, docs+2)
	for i := range docs {
		wg.Go(func() {
			id := fmt.Sprintf("doc-%02d", i)
			for r := doc.Rev(1); r <= perDoc; r++ {
				// Some appends carry two ops.
				ops := []doc.Sequenced{insertAt(r, id, uint64(r), int(r-1), "x")}
				if r%7 == 0 && r < perDoc {
					ops = append(ops, insertAt(r+1, id, uint64(r+1), int(r), "x"))
				}
				if err := s.Append(ctx, id, r-1, ops); err != nil {
					errs <- err
					return
				}
				r += doc.Rev(len(ops) - 1)
			}
		})
	}
	// Two writers append to "race" from what they think is the end; the
	// loser of each round gets ErrRevTaken and tries again.
	var raceMu sync.Mutex
	var raceOps []doc.Sequenced
	for w := range 2 {
		wg.Go(func() {
			client := fmt.Sprintf("w%d", w)
			for seq := uint64(1); seq <= 20; {
				m, err := s.Meta(ctx, "race")
				if err != nil {
					errs <- err
					return
				}
				op := insertAt(m.Rev+1, client, seq, 0, client)
				err = s.Append(ctx, "race", m.Rev, []doc.Sequenced{op})
				switch {
				case errors.Is(err, doc.ErrRevTaken):
					continue
				case err != nil:
					errs <- err
					return
				}
				raceMu.Lock()
				raceOps = append(raceOps, op)
				raceMu.Unlock()
				seq++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stats := s.Stats()
	t.Logf("stats: %+v", stats)
	if stats.Ops != docs*perDoc+40 {
		t.Errorf("stats count %d ops, want %d", stats.Ops, docs*perDoc+40)
	}
	if stats.Commits >= stats.Appends {
		t.Errorf("%d commits for %d appends: group commit did not batch", stats.Commits, stats.Appends)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	for i := range docs {
		id := fmt.Sprintf("doc-%02d", i)
		st, err := s.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Meta.Rev != perDoc || len(st.Ops) != perDoc {
			t.Fatalf("%s: rev %d with %d ops, want %d", id, st.Meta.Rev, len(st.Ops), perDoc)
		}
		d, err := doc.Load(st, doc.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Text() != strings.Repeat("x", perDoc) {
			t.Errorf("%s: text %q", id, d.Text())
		}
		if cs := st.Clients[id]; cs.Seq != perDoc || cs.Rev != perDoc {
			t.Errorf("%s: client record %+v", id, cs)
		}
	}
	st, err := s.Load(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	raceMu.Lock()
	defer raceMu.Unlock()
	slices.SortFunc(raceOps, func(a, b doc.Sequenced) int { return cmp.Compare(a.Rev, b.Rev) })
	sameOps(t, st.Ops, raceOps)
}

func TestStore_TooBig(t *testing.T) {
	ctx := context.Background()
	// A 1 MiB memtable holds transactions of about 150 KiB.
	s := open(t, t.TempDir(), func(o *persist.Options) { o.MemTableSize = 1 << 20; o.ValueThreshold = 32 << 10 })
	create(t, s, "d", ot.Delta{})
	line := strings.Repeat("y", 1000)
	var big []doc.Sequenced
	for r := doc.Rev(1); r <= 200; r++ {
		big = append(big, insertAt(r, "a", uint64(r), 0, line))
	}
	if err := s.Append(ctx, "d", 0, big); !errors.Is(err, persist.ErrTooBig) {
		t.Fatalf("200 KB append: %v, want ErrTooBig", err)
	}
	if m, _ := s.Meta(ctx, "d"); m.Rev != 0 {
		t.Fatalf("a refused append moved the log to %d", m.Rev)
	}

	// Appends that fit alone but not together go into several
	// transactions, each whole.
	for i := range 8 {
		create(t, s, fmt.Sprintf("e%d", i), ot.Delta{})
	}
	before := s.Stats().Commits
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := s.Append(ctx, fmt.Sprintf("e%d", i), 0, big[:60]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := s.Stats().Commits - before; n < 4 {
		t.Errorf("8 appends of 60 KB took %d commits, want at least 4", n)
	}
	for i := range 8 {
		if m, err := s.Meta(ctx, fmt.Sprintf("e%d", i)); err != nil || m.Rev != 60 {
			t.Errorf("e%d: %+v %v", i, m, err)
		}
	}

	// A snapshot above the value threshold counts a few bytes.
	huge := text(strings.Repeat("z", 400<<10))
	if err := s.SaveSnapshot(ctx, "e0", 60, huge); err != nil {
		t.Fatalf("400 KB snapshot: %v", err)
	}
	if c, err := s.At(ctx, "e0", 60); err != nil || !c.Equal(huge) {
		t.Errorf("At after a big snapshot: %v", err)
	}
}

func TestStore_ContextCancelled(t *testing.T) {
	s := open(t, t.TempDir())
	create(t, s, "d", ot.Delta{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Append(ctx, "d", 0, []doc.Sequenced{insertAt(1, "a", 1, 0, "x")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append: %v, want context.Canceled", err)
	}
	if _, err := s.Load(ctx, "d"); !errors.Is(err, context.Canceled) {
		t.Errorf("Load: %v, want context.Canceled", err)
	}
	if m, _ := s.Meta(context.Background(), "d"); m.Rev != 0 {
		t.Error("a cancelled Append was written")
	}
}

func TestStore_Locked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	_, err := persist.Open(context.Background(), persist.Options{Dir: dir})
	if !errors.Is(err, persist.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "data directory in use by another process") {
		t.Errorf("message %q", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, dir) // free again
}

func TestStore_Close(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	create(t, s, "d", ot.Delta{})
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if _, err := s.Load(ctx, "d"); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Load after Close: %v", err)
	}
	if err := s.Append(ctx, "d", 0, []doc.Sequenced{insertAt(1, "a", 1, 0, "x")}); !errors.Is(err, persist.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
}

// TestStore_CloseUnderLoad closes the store while appends are in flight:
// each Append either succeeds, and its op is there after reopening, or
// fails with ErrClosed.
func TestStore_CloseUnderLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	const docs = 8
	for i := range docs {
		create(t, s, fmt.Sprintf("d%d", i), ot.Delta{})
	}
	acked := make([]doc.Rev, docs)
	var wg sync.WaitGroup
	for i := range docs {
		wg.Go(func() {
			id := fmt.Sprintf("d%d", i)
			for r := doc.Rev(1); ; r++ {
				err := s.Append(ctx, id, r-1, []doc.Sequenced{insertAt(r, "c", uint64(r), 0, "x")})
				if errors.Is(err, persist.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked[i] = r
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = open(t, dir)
	for i := range docs {
		m, err := s.Meta(ctx, fmt.Sprintf("d%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if m.Rev != acked[i] {
			t.Errorf("d%d: log ends at %d, last ack %d", i, m.Rev, acked[i])
		}
	}
}

// randomOp returns a random change to a document of length n.
func randomOp(rng *rand.Rand, n int) ot.Delta {
	var d ot.Delta
	pos := rng.IntN(n + 1)
	d.Retain(pos, nil)
	switch k := rng.IntN(4); {
	case k == 0 && pos < n:
		d.Delete(1 + rng.IntN(min(3, n-pos)))
	case k == 1 && pos < n:
		d.Retain(1+rng.IntN(n-pos), ot.Attributes{"bold": rng.IntN(2) == 0})
	case k == 2:
		d.InsertEmbed(ot.Embed{Type: "image", Value: fmt.Sprint("i", rng.IntN(9))}, nil)
	default:
		d.Insert(fmt.Sprint("w", rng.IntN(100), " "), nil)
	}
	return d
}

func TestStore_AtEveryRevision(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	rng := rand.New(rand.NewPCG(1, 2))
	initial := text("start\n")
	create(t, s, "d", initial)
	want := []ot.Delta{initial}
	content := initial
	for r := doc.Rev(1); r <= 120; r++ {
		d := randomOp(rng, content.Length())
		next, err := ot.Apply(content, d)
		if err != nil {
			t.Fatal(err)
		}
		op := doc.Sequenced{Rev: r, Client: "c", Seq: uint64(r), Delta: d, Digest: doc.Digest(d)}
		if err := s.Append(ctx, "d", r-1, []doc.Sequenced{op}); err != nil {
			t.Fatal(err)
		}
		content = next
		want = append(want, content)
		if r%25 == 0 {
			if err := s.SaveSnapshot(ctx, "d", r, content); err != nil {
				t.Fatal(err)
			}
		}
	}
	for r, w := range want {
		got, err := s.At(ctx, "d", doc.Rev(r))
		if err != nil {
			t.Fatalf("At(%d): %v", r, err)
		}
		if !got.Equal(w) {
			t.Fatalf("At(%d) = %v, want %v", r, got, w)
		}
	}
	for _, r := range []doc.Rev{-1, 121} {
		if _, err := s.At(ctx, "d", r); !errors.Is(err, doc.ErrNotFound) {
			t.Errorf("At(%d): %v, want doc.ErrNotFound", r, err)
		}
	}
	st, err := s.Load(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if st.SnapshotRev != 100 || len(st.Ops) != 20 {
		t.Errorf("Load: snapshot at %d with %d ops, want 100 with 20", st.SnapshotRev, len(st.Ops))
	}
	d, err := doc.Load(st, doc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Snapshot().Equal(content) {
		t.Errorf("loaded content %v, want %v", d.Snapshot(), content)
	}
}

func TestStore_List(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	ids := []string{"b", "a-b", "A", "ab", "a", "a.b", "a_b", "0", "z9"}
	for _, id := range ids {
		create(t, s, id, ot.Delta{})
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list {
		got = append(got, m.ID)
	}
	want := []string{"0", "A", "a", "a-b", "a.b", "a_b", "ab", "b", "z9"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func hasKeysOf(s *persist.Store, id string) [][]byte {
	var found [][]byte
	for _, k := range s.Keys() {
		if bytes.Equal(k, persist.MetaKey(id)) || bytes.Equal(k, persist.TombKey(id)) ||
			bytes.HasPrefix(k, append([]byte{'r'}, append([]byte(id), 0)...)) {
			found = append(found, k)
		}
	}
	return found
}

func TestStore_Delete(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, id := range []string{"a", "ab", "a.b"} {
		create(t, s, id, text("hello"))
	}
	// Enough ops and clients for several deletion steps.
	for r := doc.Rev(1); r <= 2500; r += 100 {
		var ops []doc.Sequenced
		for i := range doc.Rev(100) {
			ops = append(ops, insertAt(r+i, fmt.Sprint("c", (r+i)%300), uint64(r+i), 0, "x"))
		}
		if err := s.Append(ctx, "a", r-1, ops); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveSnapshot(ctx, "a", 2000, text("whatever")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "ab", 0, []doc.Sequenced{insertAt(1, "c", 1, 0, "x")}); err != nil {
		t.Fatal(err)
	}
	abKeys := hasKeysOf(s, "ab")

	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if left := hasKeysOf(s, "a"); len(left) != 0 {
		t.Errorf("%d keys of a left, first %q", len(left), left[0])
	}
	if _, err := s.Load(ctx, "a"); !errors.Is(err, doc.ErrNotFound) {
		t.Errorf("Load after Delete: %v", err)
	}
	if err := s.Delete(ctx, "a"); !errors.Is(err, doc.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if got := hasKeysOf(s, "ab"); !reflect.DeepEqual(got, abKeys) {
		t.Errorf("keys of ab changed: %q, want %q", got, abKeys)
	}
	list, _ := s.List(ctx)
	if len(list) != 2 || list[0].ID != "a.b" || list[1].ID != "ab" {
		t.Errorf("List after Delete = %+v", list)
	}
	// The id is free again, for a new document with nothing of the old.
	create(t, s, "a", text("new"))
	st, err := s.Load(ctx, "a")
	if err != nil || st.Meta.Rev != 0 || len(st.Clients) != 0 || !st.Snapshot.Equal(text("new")) {
		t.Errorf("recreated: %+v, %v", st, err)
	}
	// The committer does not remember the old document's end or clients.
	if err := s.Append(ctx, "a", 0, []doc.Sequenced{insertAt(1, "c1", 1, 0, "x")}); err != nil {
		t.Fatalf("append to the recreated document: %v", err)
	}
	if st, err := s.Load(ctx, "a"); err != nil || st.Clients["c1"] != (doc.ClientState{Seq: 1, Digest: st.Ops[0].Digest, Rev: 1}) {
		t.Errorf("recreated: clients %+v, %v", st.Clients, err)
	}
}

// TestStore_ClientRecords checks that a client's record keeps its highest
// seq, within one append and across appends, after reopening too.
func TestStore_ClientRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	create(t, s, "d", ot.Delta{})
	ops := []doc.Sequenced{insertAt(1, "a", 5, 0, "x"), insertAt(2, "a", 4, 0, "x"), insertAt(3, "b", 1, 0, "x")}
	if err := s.Append(ctx, "d", 0, ops); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, "d", 3, []doc.Sequenced{insertAt(4, "a", 2, 0, "x")}); err != nil {
		t.Fatal(err)
	}
	check := func(s *persist.Store) {
		t.Helper()
		st, err := s.Load(ctx, "d")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]doc.ClientState{"a": {Seq: 5, Digest: ops[0].Digest, Rev: 1}, "b": {Seq: 1, Digest: ops[2].Digest, Rev: 3}}
		if !reflect.DeepEqual(st.Clients, want) {
			t.Errorf("clients %+v, want %+v", st.Clients, want)
		}
	}
	check(s)
	s.Close()
	s = open(t, dir)
	check(s)
	// A fresh committer reads the record before it decides.
	if err := s.Append(ctx, "d", 4, []doc.Sequenced{insertAt(5, "a", 3, 0, "x")}); err != nil {
		t.Fatal(err)
	}
	check(s)
}

// TestStore_DeleteResumes plants the state a crash in the middle of a
// deletion leaves (tombstone, no metadata, records) and checks that Open
// finishes the deletion and that meanwhile the document is absent.
func TestStore_DeleteResumes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	create(t, s, "d", text("x"))
	if err := s.Append(ctx, "d", 0, []doc.Sequenced{insertAt(1, "c", 1, 0, "y")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRaw(persist.TombKey("d"), []byte{0x80}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRaw(persist.MetaKey("d"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "d"); !errors.Is(err, doc.ErrNotFound) {
		t.Errorf("Load during a deletion: %v, want doc.ErrNotFound", err)
	}
	s.Close()

	s = open(t, dir)
	if err := persist.AwaitDeletion(s, ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if left := hasKeysOf(s, "d"); len(left) != 0 {
		t.Errorf("keys left: %q", left)
	}
	create(t, s, "d", text("fresh"))
}

// TestStore_Corrupt damages one record at a time: the document becomes
// unavailable with doc.ErrCorrupt naming the record, it is never taken for
// a new one, and it can still be deleted.
func TestStore_Corrupt(t *testing.T) {
	ctx := context.Background()
	badDelta, _ := persist.EncodeOp(doc.Sequenced{Rev: 2, Delta: ot.New(ot.Op{Delete: -2})})
	wrongRev, _ := persist.EncodeOp(insertAt(3, "c", 2, 0, "x"))
	tests := []struct {
		name  string
		key   []byte
		value []byte // nil deletes the key
		want  string // in the error
		// createFails is the error Create on the id gives.
		createFails error
	}{
		{"garbage_op", persist.OpKey("d", 2), []byte("garbage"), `op "d"@2`, doc.ErrExists},
		{"huge_op", persist.OpKey("d", 2), []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, `op "d"@2`, doc.ErrExists},
		{"invalid_delta", persist.OpKey("d", 2), badDelta, `op "d"@2`, doc.ErrExists},
		{"wrong_revision", persist.OpKey("d", 2), wrongRev, `op "d"@2`, doc.ErrExists},
		{"gap", persist.OpKey("d", 2), nil, `op "d"@2 is missing`, doc.ErrExists},
		{"garbage_meta", persist.MetaKey("d"), []byte{0xc1}, `meta "d"`, doc.ErrExists},
		{"no_meta", persist.MetaKey("d"), nil, `without its metadata`, doc.ErrCorrupt},
		{"garbage_snapshot", persist.SnapshotKey("d", 0), []byte{0x93}, `snapshot "d"@0`, doc.ErrExists},
		{"no_snapshot", persist.SnapshotKey("d", 0), nil, `no snapshot`, doc.ErrExists},
		{"garbage_client", persist.ClientKey("d", "c"), []byte{0x81, 0xa1}, `client "d"/"c"`, doc.ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			create(t, s, "d", text("abc"))
			ops := []doc.Sequenced{insertAt(1, "c", 1, 0, "x"), insertAt(2, "c", 2, 0, "y"), insertAt(3, "c", 3, 0, "z")}
			if err := s.Append(ctx, "d", 0, ops); err != nil {
				t.Fatal(err)
			}
			if err := s.PutRaw(tt.key, tt.value); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load(ctx, "d")
			if !errors.Is(err, doc.ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want doc.ErrCorrupt naming %s", err, tt.want)
			}
			// At reads no client records.
			if _, err := s.At(ctx, "d", 3); tt.name != "garbage_client" && !errors.Is(err, doc.ErrCorrupt) {
				t.Errorf("At: %v, want doc.ErrCorrupt", err)
			}
			if err := s.Create(ctx, newMeta("d"), ot.Delta{}); !errors.Is(err, tt.createFails) {
				t.Errorf("Create over it: %v, want %v", err, tt.createFails)
			}
			err = s.Append(ctx, "d", 3, []doc.Sequenced{insertAt(4, "c", 4, 0, "w")})
			if bytes.Equal(tt.key, persist.MetaKey("d")) && err == nil {
				t.Error("Append onto a document without readable metadata succeeded")
			}
			if err := s.Delete(ctx, "d"); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if left := hasKeysOf(s, "d"); len(left) != 0 {
				t.Errorf("keys left after Delete: %q", left)
			}
		})
	}

	t.Run("op_past_metadata", func(t *testing.T) {
		s := open(t, t.TempDir())
		create(t, s, "d", ot.Delta{})
		b, _ := persist.EncodeOp(insertAt(1, "c", 1, 0, "x"))
		if err := s.PutRaw(persist.OpKey("d", 1), b); err != nil {
			t.Fatal(err)
		}
		err := s.Append(ctx, "d", 0, []doc.Sequenced{insertAt(1, "c", 1, 0, "y")})
		if !errors.Is(err, doc.ErrCorrupt) {
			t.Errorf("Append over an op: %v, want doc.ErrCorrupt", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		s := open(t, t.TempDir())
		create(t, s, "d", ot.Delta{})
		s.PutRaw(persist.MetaKey("d"), []byte("junk"))
		if _, err := s.List(ctx); !errors.Is(err, doc.ErrCorrupt) || !strings.Contains(err.Error(), `meta "d"`) {
			t.Errorf("List: %v", err)
		}
	})
}

func TestOpen_Options(t *testing.T) {
	ctx := context.Background()
	if _, err := persist.Open(ctx, persist.Options{}); !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("no Dir: %v", err)
	}
	_, err := persist.Open(ctx, persist.Options{Dir: t.TempDir(), MemTableSize: 4 << 20, ValueThreshold: 1 << 20})
	if !errors.Is(err, persist.ErrInvalid) {
		t.Errorf("threshold above 15%% of the memtable: %v", err)
	}
	s := open(t, t.TempDir(), func(o *persist.Options) { o.NoSync = true; o.GCInterval = 10 * time.Millisecond })
	create(t, s, "d", text(strings.Repeat("big ", 40<<10)))
	time.Sleep(30 * time.Millisecond) // a few GC rounds, for the race detector
}

// TestStore_CancelWhileQueued appends with deadlines short enough that
// some expire while the append waits for the committer: an Append that
// returns its context's error must have written nothing, and one that
// returns nil must be there.
func TestStore_CancelWhileQueued(t *testing.T) {
	s := open(t, t.TempDir())
	const docs = 16
	for i := range docs {
		create(t, s, fmt.Sprintf("d%d", i), ot.Delta{})
	}
	var cancelled sync.Map
	var wg sync.WaitGroup
	for i := range docs {
		wg.Go(func() {
			id := fmt.Sprintf("d%d", i)
			rev := doc.Rev(0)
			for n := range 60 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n%6)*50*time.Microsecond)
				err := s.Append(ctx, id, rev, []doc.Sequenced{insertAt(rev+1, "c", uint64(rev+1), 0, "x")})
				cancel()
				switch {
				case err == nil:
					rev++
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Store(id, true)
				default:
					t.Error(err)
					return
				}
				m, err := s.Meta(context.Background(), id)
				if err != nil || m.Rev != rev {
					t.Errorf("%s: log at %d, want %d (%v)", id, m.Rev, rev, err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := 0
	cancelled.Range(func(any, any) bool { n++; return true })
	t.Logf("%d of %d documents saw a cancelled append", n, docs)
}
