//go:build linux

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
)

// How the tests know which edits were acknowledged.
//
// Every typist inserts marks: embeds {"mark": "c3-17"}, each one unique.
// An embed is one unit long, so no other edit can land inside it or cut
// it, whatever the position it was made at. A typist is the only goroutine
// that submits to its client, and it records a mark as submitted once
// Submit returned nil. Whenever it then sees its client's status at Saved
// (connected, nothing in flight, nothing buffered), every mark it submitted
// before was acknowledged by the server: an ack, or the seq in a welcome,
// or its own op met again in a catch-up, all of which come from the
// durable log. So submitted[:acked] is exactly a prefix of marks known
// acknowledged, and the check at the end cannot flake on timing. A client
// that set edits aside (a refused op, a changed epoch) would reach Saved
// without them; it keeps them in Unsent for good, and the test fails when
// any client has an unsent edit at the end, and on any error event but the
// refusal of a connection by a server that is shutting down.

// crashSeed returns the seed of a test's random choices: COWRITE_SEED, or
// a new one, logged so that a failure can be replayed.
func crashSeed(t testing.TB) uint64 {
	t.Helper()
	if s := os.Getenv("COWRITE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COWRITE_SEED: %v", err)
		}
		t.Logf("seed %d (from COWRITE_SEED)", seed)
		return seed
	}
	seed := rand.Uint64()
	t.Logf("seed %d (replay with COWRITE_SEED=%d)", seed, seed)
	return seed
}

// markType is the embed type of the typists' marks.
const markType = "mark"

// A typist edits one document through its own client, continuously and at
// random: marks, text (with characters outside the BMP) and formatting.
type typist struct {
	doc string
	tag string // its marks are tag-1, tag-2, ...
	c   *client.Client
	rng *rand.Rand

	// Owned by run; read by others once run returned.
	submitted []string
	refused   int // edits Submit refused: a position inside a character

	acked      atomic.Int64 // submitted[:acked] are known acknowledged
	ackedAtEnd int64        // acked when the typing stopped

	mu       sync.Mutex
	problems []string // error events
	offline  int      // times the client went offline
}

func (ty *typist) onEvent(e client.Event) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	switch {
	case e.Err != nil && !strings.Contains(e.Err.Error(), session.CodeShuttingDown):
		ty.problems = append(ty.problems, e.Err.Error())
	case e.Status != nil && *e.Status == client.Offline:
		ty.offline++
	}
}

// noteSaved moves acked up to every mark submitted so far when the client
// is Saved and never set an edit aside.
func (ty *typist) noteSaved() {
	n := len(ty.submitted)
	if ty.c.Status() == client.Saved && len(ty.c.Unsent()) == 0 {
		ty.acked.Store(int64(n))
	}
}

func (ty *typist) run(ctx context.Context) {
	for ctx.Err() == nil {
		ty.noteSaved()
		ty.edit()
		if ty.rng.IntN(16) == 0 {
			// Let the client catch up now and then, so that acks are
			// seen under load too.
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			ty.c.WaitSynced(wctx)
			cancel()
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(ty.rng.IntN(6000)) * time.Microsecond):
		}
	}
	ty.noteSaved()
	ty.ackedAtEnd = ty.acked.Load()
}

var (
	typistTexts = []string{"a", "lorem ", "ipsum", "é", "😀", "\n", "中文", "x😀y", " "}
	insertAttrs = []ot.Attributes{nil, nil, {"bold": true}, {"italic": true}, {"color": "#aa3300"}, {"indent": 1}}
	formatAttrs = []ot.Attributes{{"bold": true}, {"bold": nil}, {"italic": true}, {"italic": nil}, {"color": "#0033aa"}, {"color": nil}}
)

// edit makes one random edit. The position comes from the document's
// length a moment ago; the document only grows, so it still fits, unless
// it now cuts a surrogate pair, which Submit refuses.
func (ty *typist) edit() {
	n := ty.c.Len()
	pos := ty.rng.IntN(n + 1)
	var d ot.Delta
	switch k := ty.rng.IntN(10); {
	case k < 5:
		mark := fmt.Sprintf("%s-%d", ty.tag, len(ty.submitted)+1)
		d.Retain(pos, nil).InsertEmbed(ot.Embed{Type: markType, Value: mark}, insertAttrs[ty.rng.IntN(len(insertAttrs))])
		if err := ty.c.Submit(d); err != nil {
			ty.refused++
			return
		}
		ty.submitted = append(ty.submitted, mark)
		return
	case k < 8:
		d.Retain(pos, nil).Insert(typistTexts[ty.rng.IntN(len(typistTexts))], insertAttrs[ty.rng.IntN(len(insertAttrs))])
	default:
		length := ty.rng.IntN(min(n-pos, 20) + 1)
		if length == 0 {
			return
		}
		d.Retain(pos, nil).Retain(length, formatAttrs[ty.rng.IntN(len(formatAttrs))])
	}
	if err := ty.c.Submit(d); err != nil {
		ty.refused++
	}
}

// typists are the typists of a test, perDoc of them on each document.
type typists struct {
	all    []*typist
	docs   []string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startTypists connects the typists to srv and starts them typing.
func startTypists(t testing.TB, srv *cowriteProc, docs []string, perDoc int, seed uint64) *typists {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ts := &typists{docs: docs, cancel: cancel}
	t.Cleanup(func() {
		ts.cancel()
		ts.wg.Wait()
		for _, ty := range ts.all {
			ty.c.Close()
		}
	})
	for d, id := range docs {
		for i := range perDoc {
			n := len(ts.all)
			ty := &typist{doc: id, tag: fmt.Sprintf("c%d", n), rng: rand.New(rand.NewPCG(seed, uint64(n)))}
			dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
			c, err := client.Dial(dctx, client.Options{
				URL:        srv.wsURL(id),
				Name:       fmt.Sprintf("typist %d of %d", i+1, d+1),
				MinBackoff: 10 * time.Millisecond,
				MaxBackoff: 250 * time.Millisecond,
				OnEvent:    ty.onEvent,
			})
			dcancel()
			if err != nil {
				t.Fatalf("dial %s: %v", id, err)
			}
			ty.c = c
			ts.all = append(ts.all, ty)
		}
	}
	for _, ty := range ts.all {
		ts.wg.Add(1)
		go func() {
			defer ts.wg.Done()
			ty.run(ctx)
		}()
	}
	return ts
}

// ackedTotal returns how many marks are known acknowledged.
func (ts *typists) ackedTotal() int64 {
	var n int64
	for _, ty := range ts.all {
		n += ty.acked.Load()
	}
	return n
}

// waitProgress waits until at least n marks are known acknowledged.
func (ts *typists) waitProgress(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for ts.ackedTotal() < n {
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %d marks acknowledged after two minutes, waiting for %d", ts.ackedTotal(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ackedNow returns how many marks each typist knows acknowledged.
func (ts *typists) ackedNow() []int64 {
	out := make([]int64, len(ts.all))
	for i, ty := range ts.all {
		out[i] = ty.acked.Load()
	}
	return out
}

// checkDurable checks that the documents srv stores hold, exactly once,
// every mark that acked says was acknowledged, as ackedNow returned it
// before the server that acknowledged them stopped (its stop'th stop).
func (ts *typists) checkDurable(t testing.TB, srv *cowriteProc, acked []int64, stop int) {
	t.Helper()
	for _, id := range ts.docs {
		present := marksIn(restDocAt(t, srv.url(), id, -1).Delta)
		for i, ty := range ts.all {
			if ty.doc != id {
				continue
			}
			// A typist's marks are numbered from 1 in the order submitted.
			for n := int64(1); n <= acked[i]; n++ {
				if m := fmt.Sprintf("%s-%d", ty.tag, n); present[m] != 1 {
					t.Errorf("%s after stop %d: mark %s, acknowledged before it, is in the document %d times", id, stop, m, present[m])
				}
			}
		}
	}
}

// marksIn counts the marks in a document.
func marksIn(d ot.Delta) map[string]int {
	out := map[string]int{}
	for _, o := range d.Ops {
		if o.Embed != nil && o.Embed.Type == markType {
			out[fmt.Sprint(o.Embed.Value)]++
		}
	}
	return out
}

// stop stops the typing.
func (ts *typists) stop(t testing.TB) {
	t.Helper()
	ts.cancel()
	ts.wg.Wait()
	ts.checkErrors(t)
}

// checkErrors fails the test if a client reported an error or set an edit
// aside.
func (ts *typists) checkErrors(t testing.TB) {
	t.Helper()
	for _, ty := range ts.all {
		ty.mu.Lock()
		problems := ty.problems
		ty.mu.Unlock()
		if len(problems) > 0 {
			t.Errorf("typist %s on %s: %d errors: %q", ty.tag, ty.doc, len(problems), problems)
		}
		if u := ty.c.Unsent(); len(u) > 0 {
			t.Errorf("typist %s on %s has %d edits set aside", ty.tag, ty.doc, len(u))
		}
	}
}

// checkConverged waits until every client has every edit acknowledged and
// the server's latest revision, and checks that each holds the document
// the server stores.
func (ts *typists) checkConverged(t testing.TB, srv *cowriteProc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ts.checkErrors(t)
	for _, ty := range ts.all {
		if err := ty.c.WaitSynced(ctx); err != nil || ty.c.Status() != client.Saved {
			t.Fatalf("typist %s on %s not saved: %v (status %v)", ty.tag, ty.doc, err, ty.c.Status())
		}
		ty.noteSaved()
		if got := ty.acked.Load(); got != int64(len(ty.submitted)) {
			t.Fatalf("typist %s: %d of %d marks acknowledged while saved", ty.tag, got, len(ty.submitted))
		}
	}
	for _, id := range ts.docs {
		latest := restDocAt(t, srv.url(), id, -1)
		for _, ty := range ts.all {
			if ty.doc != id {
				continue
			}
			if err := ty.c.WaitRev(ctx, latest.Rev); err != nil {
				t.Fatalf("typist %s on %s at revision %d, server at %d: %v", ty.tag, id, ty.c.Rev(), latest.Rev, err)
			}
			if rev := ty.c.Rev(); rev != latest.Rev {
				t.Errorf("typist %s on %s at revision %d, server at %d", ty.tag, id, rev, latest.Rev)
			}
			if got := ty.c.Delta(); !got.Equal(latest.Delta) {
				t.Errorf("typist %s on %s diverged from the server at revision %d: %s", ty.tag, id, latest.Rev, deltaDiff(got, latest.Delta))
			}
		}
	}
}

// deltaDiff describes where two documents first differ.
func deltaDiff(got, want ot.Delta) string {
	for i := range max(len(got.Ops), len(want.Ops)) {
		if i >= len(got.Ops) || i >= len(want.Ops) || !got.Ops[i].Equal(want.Ops[i]) {
			var g, w any = "(none)", "(none)"
			if i < len(got.Ops) {
				g = got.Ops[i]
			}
			if i < len(want.Ops) {
				w = want.Ops[i]
			}
			return fmt.Sprintf("op %d of %d/%d: %+v, server %+v", i, len(got.Ops), len(want.Ops), g, w)
		}
	}
	return "no difference"
}

// storedStats sums what verifyStored checked.
type storedStats struct {
	revs, marks, ackedEarly int
}

// verifyStored checks the documents that the server stores against what
// the typists did: the op log, composed from revision 0, gives the latest
// document and the one at sampled past revisions; every mark was inserted
// by exactly one op of the log and is in the document exactly once; no op
// of a client was stored twice; and a new client gets the same document.
func (ts *typists) verifyStored(t testing.TB, srv *cowriteProc, seed uint64) storedStats {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x7665726966))
	var st storedStats
	for _, id := range ts.docs {
		latest := restDocAt(t, srv.url(), id, -1)
		ops := restAllOps(t, srv.url(), id)
		if doc.Rev(len(ops)) != latest.Rev {
			t.Fatalf("%s: %d ops stored, latest revision %d", id, len(ops), latest.Rev)
		}
		st.revs += len(ops)

		// Revisions to compare with the server's own reconstruction.
		sample := map[doc.Rev]bool{0: true, 1: true, latest.Rev: true, latest.Rev / 2: true, max(latest.Rev-1, 0): true}
		for range 5 {
			sample[doc.Rev(rng.Int64N(int64(latest.Rev)+1))] = true
		}

		base := restDocAt(t, srv.url(), id, 0)
		if len(base.Delta.Ops) != 0 {
			t.Errorf("%s: revision 0 is %v, want empty", id, base.Delta)
		}
		// Compose the log with ot alone: ops into batches, batches onto
		// the document, so that it stays linear in the log's length.
		state, batch := base.Delta, ot.Delta{}
		inserted := map[string][]doc.Rev{} // mark: the revisions that inserted it
		lastSeq := map[string]uint64{}     // client: its last seq in the log
		var err error
		for i, op := range ops {
			rev := doc.Rev(i + 1)
			if op.Client == "" || op.Seq <= lastSeq[op.Client] {
				t.Errorf("%s@%d: client %q seq %d after seq %d: an op stored twice or out of order", id, rev, op.Client, op.Seq, lastSeq[op.Client])
			}
			lastSeq[op.Client] = op.Seq
			for _, o := range op.Delta.Ops {
				if o.Embed != nil && o.Embed.Type == markType {
					m := fmt.Sprint(o.Embed.Value)
					inserted[m] = append(inserted[m], rev)
				}
			}
			if batch, err = batch.Compose(op.Delta); err != nil {
				t.Fatalf("%s@%d: compose: %v", id, rev, err)
			}
			if sample[rev] || i%256 == 255 || rev == latest.Rev {
				if state, err = ot.Apply(state, batch); err != nil {
					t.Fatalf("%s: ops up to revision %d do not apply: %v", id, rev, err)
				}
				batch = ot.Delta{}
			}
			if sample[rev] {
				if at := restDocAt(t, srv.url(), id, rev); !at.Delta.Equal(state) {
					t.Errorf("%s: the server's revision %d differs from the log composed from 0: %s", id, rev, deltaDiff(at.Delta, state))
				}
			}
		}
		if !latest.Delta.Equal(state) {
			t.Errorf("%s: the latest document (revision %d) differs from the log composed from 0: %s", id, latest.Rev, deltaDiff(latest.Delta, state))
		}

		present := marksIn(latest.Delta)
		known := map[string]bool{}
		for _, ty := range ts.all {
			if ty.doc != id {
				continue
			}
			for i, m := range ty.submitted {
				known[m] = true
				st.marks++
				early := int64(i) < ty.ackedAtEnd
				if early {
					st.ackedEarly++
				}
				what := "acknowledged at the end"
				if early {
					what = "acknowledged during the run"
				}
				if revs := inserted[m]; len(revs) != 1 {
					t.Errorf("%s: mark %s (%s) inserted by %d ops of the log, at revisions %v", id, m, what, len(revs), revs)
				}
				if n := present[m]; n != 1 {
					t.Errorf("%s: mark %s (%s) is in the document %d times", id, m, what, n)
				}
			}
		}
		for m := range present {
			if !known[m] {
				t.Errorf("%s: mark %s is in the document but no typist of it made it", id, m)
			}
		}

		// The room loaded from the store gives a newcomer the same.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		c, err := client.Dial(ctx, client.Options{URL: srv.wsURL(id), Name: "reader"})
		cancel()
		if err != nil {
			t.Fatalf("%s: dial a new client: %v", id, err)
		}
		if c.Rev() != latest.Rev || !c.Delta().Equal(latest.Delta) {
			t.Errorf("%s: a new client got revision %d, the REST API says %d; documents: %s", id, c.Rev(), latest.Rev, deltaDiff(c.Delta(), latest.Delta))
		}
		c.Close()
	}
	return st
}

// crashKills is how many times the crash test kills the server:
// COWRITE_CRASH_KILLS, or 20.
func crashKills(t testing.TB) int {
	t.Helper()
	if s := os.Getenv("COWRITE_CRASH_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("COWRITE_CRASH_KILLS: want a positive number, not %q", s)
		}
		return n
	}
	return 20
}

// TestBinaryCrashKill9 kills the real server with SIGKILL at random
// moments while clients type into a few documents, and restarts it on the
// same directory and port each time. No acknowledged edit may be lost or
// applied twice, the clients must converge with the server, and the
// stored log must replay to the stored documents.
func TestBinaryCrashKill9(t *testing.T) {
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	kills := crashKills(t)
	dir, addr := t.TempDir(), loopbackAddr(t)
	// Frequent snapshots, so that crashes fall between snapshots and
	// loading takes a snapshot and the ops after it.
	flags := []string{"--snapshot-every", "40", "--log-level", "warn"}
	srv := startCowrite(t, "server #1", addr, dir, nil, flags...)
	srv.waitReady()

	docs := []string{"crash-a", "crash-b", "crash-c"}
	ts := startTypists(t, srv, docs, 3, seed)
	start, started := time.Now(), 1
	restart := func() {
		started++
		srv = startCowrite(t, fmt.Sprintf("server #%d", started), addr, dir, nil, flags...)
	}
	for k := 1; k <= kills; k++ {
		// Mostly kill once the new server acknowledged something; now and
		// then before the clients are even back.
		if rng.IntN(4) > 0 {
			ts.waitProgress(t, ts.ackedTotal()+1)
			time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		}
		srv.kill()
		// Every ack counted so far came from a server that is now dead:
		// each of these marks must survive the crash.
		acked := ts.ackedNow()
		t.Logf("kill %d: %d marks acknowledged so far", k, ts.ackedTotal())
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		restart()
		if k < kills && rng.IntN(6) == 0 {
			// And now and then while it opens the store.
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
			srv.kill()
			k++
			t.Logf("kill %d: while starting", k)
			restart()
		}
		srv.waitReady()
		ts.checkDurable(t, srv, acked, k)
		ts.checkErrors(t)
		if t.Failed() {
			t.FailNow() // what follows would only repeat the loss
		}
	}
	ts.waitProgress(t, ts.ackedTotal()+1)
	ts.stop(t)
	ts.checkConverged(t, srv)

	// One more crash with every client idle, and read the store cold.
	srv.kill()
	restart()
	srv.waitReady()
	st := ts.verifyStored(t, srv, seed)
	ts.checkConverged(t, srv)

	var refused, offline int
	for _, ty := range ts.all {
		refused += ty.refused
		ty.mu.Lock()
		offline += ty.offline
		ty.mu.Unlock()
	}
	t.Logf("%d kills in %v; %d marks checked, %d of them acknowledged while the server was being killed; %d revisions in %d documents; %d times a client went offline; %d edits refused locally (a position inside a character)",
		kills+1, time.Since(start).Round(time.Millisecond), st.marks, st.ackedEarly, st.revs, len(docs), offline, refused)
	if st.ackedEarly == 0 {
		t.Errorf("no mark was acknowledged during the run: the test checked nothing")
	}
}
