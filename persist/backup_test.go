package persist_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
)

// fill makes n documents with random histories, snapshots and client
// records, and returns their ids.
func fill(t *testing.T, s *persist.Store, n, ops int) []string {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []string
	for i := range n {
		id := fmt.Sprintf("doc-%02d", i)
		ids = append(ids, id)
		create(t, s, id, text("start "))
		content := text("start ")
		for r := 1; r <= ops+i; r++ {
			d := randomOp(rng, content.Length())
			var err error
			if content, err = ot.Apply(content, d); err != nil {
				t.Fatal(err)
			}
			c := fmt.Sprint("client-", r%3)
			op := doc.Sequenced{Rev: doc.Rev(r), Client: c, Seq: uint64(r), Delta: d, Digest: doc.Digest(d), Author: "u" + c}
			if err := s.Append(ctx, id, doc.Rev(r-1), []doc.Sequenced{op}); err != nil {
				t.Fatal(err)
			}
			if r%7 == 0 {
				if err := s.SaveSnapshot(ctx, id, doc.Rev(r), content); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return ids
}

func TestStore_BackupRestore(t *testing.T) {
	ctx := context.Background()
	src := open(t, t.TempDir())
	ids := fill(t, src, 5, 40)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	revs := []persist.Revocation{{User: "ann", At: at}, {Session: "s-1", At: at.Add(time.Minute)}}
	for _, r := range revs {
		if err := src.Revoke(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	var buf bytes.Buffer
	var calls, lastDone, lastTotal int64
	err := src.Backup(ctx, &buf, func(done, total int64) { calls++; lastDone, lastTotal = done, total })
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || lastDone != lastTotal || lastTotal == 0 {
		t.Errorf("progress: %d calls, last %d of %d", calls, lastDone, lastTotal)
	}

	sum, err := persist.VerifyBackup(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if sum.Docs != int64(len(ids)) || sum.Revoked != int64(len(revs)) || sum.Records == 0 || sum.Version != 2 {
		t.Errorf("verify: %+v", sum)
	}

	dst := open(t, t.TempDir())
	if err := dst.Restore(ctx, bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := dst.Revocations(ctx); err != nil || len(got) != len(revs) || got[0] != revs[1] || got[1] != revs[0] {
		t.Errorf("restored revocations %+v (%v), want %+v", got, err, revs)
	}
	list, err := dst.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(ids) {
		t.Fatalf("restored %d documents, want %d", len(list), len(ids))
	}
	for _, id := range ids {
		want, err := src.Meta(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.Meta(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Epoch == want.Epoch || got.Epoch == "" {
			t.Errorf("%s: epoch %q, want a new one (was %q)", id, got.Epoch, want.Epoch)
		}
		if got.Rev != want.Rev || got.Title != want.Title || !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) {
			t.Errorf("%s: meta %+v, want %+v", id, got, want)
		}
		wantOps, err := src.Ops(ctx, id, 0, want.Rev)
		if err != nil {
			t.Fatal(err)
		}
		gotOps, err := dst.Ops(ctx, id, 0, want.Rev)
		if err != nil {
			t.Fatal(err)
		}
		sameOps(t, gotOps, wantOps)
		for _, rev := range []doc.Rev{0, 1, want.Rev / 3, want.Rev / 2, want.Rev - 1, want.Rev} {
			w, err := src.At(ctx, id, rev)
			if err != nil {
				t.Fatal(err)
			}
			g, err := dst.At(ctx, id, rev)
			if err != nil {
				t.Fatal(err)
			}
			if !g.Equal(w) {
				t.Errorf("%s@%d: got %v, want %v", id, rev, g.Text(), w.Text())
			}
		}
		ws, err := src.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		gs, err := dst.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if gs.SnapshotRev != ws.SnapshotRev || !gs.Snapshot.Equal(ws.Snapshot) || len(gs.Clients) != len(ws.Clients) {
			t.Errorf("%s: load differs: snapshot %d vs %d, %d vs %d clients", id, gs.SnapshotRev, ws.SnapshotRev, len(gs.Clients), len(ws.Clients))
		}
		for c, cs := range ws.Clients {
			if gs.Clients[c] != cs {
				t.Errorf("%s: client %s: got %+v, want %+v", id, c, gs.Clients[c], cs)
			}
		}
	}

	t.Run("not_empty", func(t *testing.T) {
		err := dst.Restore(ctx, bytes.NewReader(buf.Bytes()), nil)
		if !errors.Is(err, persist.ErrNotEmpty) {
			t.Errorf("restore into a full store: %v, want ErrNotEmpty", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0, 10, buf.Len() / 2, buf.Len() - 1} {
			s := open(t, t.TempDir())
			err := s.Restore(ctx, bytes.NewReader(buf.Bytes()[:n]), nil)
			if !errors.Is(err, persist.ErrBackupFormat) {
				t.Errorf("restore of %d of %d bytes: %v, want ErrBackupFormat", n, buf.Len(), err)
			}
			if _, err := persist.VerifyBackup(bytes.NewReader(buf.Bytes()[:n])); !errors.Is(err, persist.ErrBackupFormat) {
				t.Errorf("verify of %d of %d bytes: %v, want ErrBackupFormat", n, buf.Len(), err)
			}
		}
	})
	t.Run("damaged", func(t *testing.T) {
		b := bytes.Clone(buf.Bytes())
		b[len(b)/2] ^= 0x55
		s := open(t, t.TempDir())
		if err := s.Restore(ctx, bytes.NewReader(b), nil); !errors.Is(err, persist.ErrBackupFormat) {
			t.Errorf("restore of a damaged backup: %v, want ErrBackupFormat", err)
		}
		if _, err := persist.VerifyBackup(bytes.NewReader(b)); !errors.Is(err, persist.ErrBackupFormat) {
			t.Errorf("verify of a damaged backup: %v, want ErrBackupFormat", err)
		}
	})
	t.Run("trailing_bytes", func(t *testing.T) {
		b := append(bytes.Clone(buf.Bytes()), 0)
		if _, err := persist.VerifyBackup(bytes.NewReader(b)); !errors.Is(err, persist.ErrBackupFormat) {
			t.Errorf("verify with a byte after the end: %v, want ErrBackupFormat", err)
		}
		if err := open(t, t.TempDir()).Restore(ctx, bytes.NewReader(b), nil); !errors.Is(err, persist.ErrBackupFormat) {
			t.Errorf("restore with a byte after the end: %v, want ErrBackupFormat", err)
		}
	})
}

// TestStore_BackupDuringAppends takes backups while writers append batches
// of ops: each document in a backup must be whole, its log ending exactly
// at its metadata's revision, never half of one Append.
func TestStore_BackupDuringAppends(t *testing.T) {
	ctx := context.Background()
	src := open(t, t.TempDir())
	const docs = 4
	for i := range docs {
		create(t, src, fmt.Sprint("d", i), ot.Delta{})
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range docs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("d", i)
			for rev := doc.Rev(0); !stop.Load(); rev += 3 {
				batch := []doc.Sequenced{
					insertAt(rev+1, "a", uint64(rev+1), 0, "x"),
					insertAt(rev+2, "a", uint64(rev+2), 0, "y"),
					insertAt(rev+3, "a", uint64(rev+3), 0, "z"),
				}
				if err := src.Append(ctx, id, rev, batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	maxRev := doc.Rev(0)
	for round := range 5 {
		var buf bytes.Buffer
		if err := src.Backup(ctx, &buf, nil); err != nil {
			t.Fatal(err)
		}
		dst := open(t, t.TempDir())
		if err := dst.Restore(ctx, &buf, nil); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i := range docs {
			id := fmt.Sprint("d", i)
			st, err := dst.Load(ctx, id)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			maxRev = max(maxRev, st.Meta.Rev)
			if st.Meta.Rev%3 != 0 {
				t.Errorf("round %d: %s at revision %d: half an append", round, id, st.Meta.Rev)
			}
			if _, err := doc.Load(st, doc.Options{}); err != nil {
				t.Errorf("round %d: %s: %v", round, id, err)
			}
			if cs := st.Clients["a"]; cs.Rev != st.Meta.Rev {
				t.Errorf("round %d: %s: client record at %d, log at %d", round, id, cs.Rev, st.Meta.Rev)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if maxRev == 0 {
		t.Error("no backup caught an append: the test checked nothing")
	}
	t.Logf("backups reached revision %d", maxRev)
}
