package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session/client"
)

// Pieces of text that random edits insert: ASCII, accents, CJK, emoji made
// of surrogate pairs and of several code points, and line breaks.
var pieces = []string{"a", "hello ", "é", "中文", "😀", "👍🏽", "\n", "xyz", "ß", "🎉 ok"}

// Formats that random edits apply, removal (nil) and a number included.
var formats = []ot.Attributes{
	nil,
	{"bold": true},
	{"bold": nil},
	{"italic": true, "color": "#ff0000"},
	{"color": nil},
	{"link": "https://example.com/a?b=c"},
	{"size": 12},
	{"header": 2, "bold": true},
}

// boundaries returns the positions, in UTF-16 units, where a document may
// be cut without splitting a character: 0, the end, and every position
// between two code points or around an embed.
func boundaries(d ot.Delta) []int {
	out := []int{0}
	pos := 0
	for _, op := range d.Ops {
		if op.Embed != nil {
			pos++
			out = append(out, pos)
			continue
		}
		for _, r := range op.Insert {
			pos += utf16.RuneLen(r)
			out = append(out, pos)
		}
	}
	return out
}

// randomEdit returns a random change to document d: an insert of text or an
// embed, a delete, or a format, on character boundaries.
func randomEdit(rng *rand.Rand, d ot.Delta) ot.Delta {
	b := boundaries(d)
	at := func(most int) (int, int) {
		i := rng.IntN(len(b) - 1)
		j := min(i+1+rng.IntN(most), len(b)-1)
		return b[i], b[j]
	}
	var e ot.Delta
	switch k := rng.IntN(10); {
	case k < 5 || len(b) < 2:
		pos := b[rng.IntN(len(b))]
		e.Retain(pos, nil)
		attrs := formats[rng.IntN(len(formats))]
		if attrs != nil {
			attrs = withoutNil(attrs) // an insert carries no removals
		}
		if rng.IntN(10) == 0 {
			e.InsertEmbed(ot.Embed{Type: "image", Value: fmt.Sprintf("https://example.com/%d.png", rng.IntN(100))}, attrs)
		} else {
			e.Insert(pieces[rng.IntN(len(pieces))], attrs)
		}
	case k < 7:
		from, to := at(4)
		e.Retain(from, nil).Delete(to - from)
	default:
		from, to := at(12)
		attrs := formats[1+rng.IntN(len(formats)-1)]
		e.Retain(from, nil).Retain(to-from, attrs)
	}
	return e.Canonical()
}

func withoutNil(a ot.Attributes) ot.Attributes {
	out := ot.Attributes{}
	for k, v := range a {
		if v != nil {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// TestConverge has several clients edit one document at random, with
// random delays, and checks that the clients and the server agree; then
// restarts the server gracefully on the same directory, lets the clients
// reconnect and edit some more, and checks again.
func TestConverge(t *testing.T) {
	seed := testSeed(t)
	s := startServer(t, "", serverOpts{})
	p := startProxy(t, s)
	const id, writers, edits = "converge", 4, 200
	clients := make([]*client.Client, writers)
	for i := range clients {
		clients[i] = dialVia(t, p, id, client.Options{Name: fmt.Sprintf("w%d", i), Color: "#336699"})
	}
	editRandomly(t, seed, 0, clients, edits)
	content, rev := agreeWithServer(t, s, id, clients)
	t.Logf("%d revisions, %d units", rev, content.Length())

	// A graceful restart on the same directory keeps every acknowledged
	// edit; the clients reconnect to the new server and go on.
	s.stop()
	s = startServer(t, s.dir, serverOpts{})
	p.setTarget(s)
	if after, rev2 := s.content(t, id); rev2 != rev || !after.Equal(content) {
		t.Fatalf("after restart: rev %d %v, want rev %d %v", rev2, after, rev, content)
	}
	editRandomly(t, seed, 1, clients, edits)
	content, rev = agreeWithServer(t, s, id, clients)
	t.Logf("%d revisions, %d units after the restart", rev, content.Length())
	late := s.dial(t, id, client.Options{Name: "late"})
	if late.Rev() != rev || !late.Delta().Equal(content) {
		t.Fatalf("a new client loads rev %d %v", late.Rev(), late.Delta())
	}
}

// editRandomly has every client make edits random edits at once, with
// random pauses, and fails the test if a client refuses one.
func editRandomly(t *testing.T, seed, round uint64, clients []*client.Client, edits int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	for w, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, round<<32|uint64(w)))
			done := 0
			for tries := 0; done < edits; tries++ {
				if tries > 20*edits {
					errs <- fmt.Errorf("writer %d: only %d of %d edits fit", w, done, edits)
					return
				}
				// A remote op may land between reading the document and
				// submitting: then the edit may no longer fit, and is
				// drawn again.
				e := randomEdit(rng, c.Delta())
				if err := c.Submit(e); errors.Is(err, ot.ErrLength) || errors.Is(err, ot.ErrSurrogate) {
					continue
				} else if err != nil {
					errs <- fmt.Errorf("writer %d: submit %v: %w", w, e, err)
					return
				}
				done++
				time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// agreeWithServer waits until the clients have sent everything and have the
// server's latest revision, checks that they agree with the server and
// that the op log replays to the same document, and returns it.
func agreeWithServer(t *testing.T, s *server, id string, clients []*client.Client) (ot.Delta, doc.Rev) {
	t.Helper()
	waitSynced(t, clients...)
	content, rev := s.content(t, id)
	waitRev(t, rev, clients...)
	for i, c := range clients {
		if !c.Delta().Equal(content) {
			t.Fatalf("client %d diverged at rev %d:\n client %v\n server %v", i, rev, c.Delta(), content)
		}
		if u := c.Unsent(); len(u) > 0 {
			t.Fatalf("client %d set edits aside: %v", i, u)
		}
	}
	checkLog(t, s, id, content)
	return content, rev
}

// checkLog checks that replaying the document's whole op log from the empty
// document gives want.
func checkLog(t *testing.T, s *server, id string, want ot.Delta) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, rev := s.content(t, id)
	var d ot.Delta
	for from := doc.Rev(0); from < rev; from += 1000 {
		ops, err := s.manager.Ops(ctx, id, from, min(from+1000, rev))
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			if d, err = ot.Apply(d, op.Delta); err != nil {
				t.Fatalf("replay rev %d: %v", op.Rev, err)
			}
		}
	}
	if !d.Equal(want) {
		t.Fatalf("the op log replays to %v, want %v", d, want)
	}
}
