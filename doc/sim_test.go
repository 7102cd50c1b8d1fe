package doc_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"unicode/utf16"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// The simulation runs several clients editing one document through the
// sequencer, in process. Each client applies its own edits at once, keeps
// one op in flight and buffers (composes) the rest, as the browser client
// does, and receives the server's acks and ops in order but after random
// delays. Every replica must end equal to the server.

type simMsg struct {
	ack bool
	seq uint64
	op  doc.Sequenced
}

type simClient struct {
	id       string
	doc      ot.Delta
	rev      doc.Rev
	seq      uint64
	inflight *ot.Delta // the in-flight op, transformed over what arrived since
	inSeq    uint64
	buffer   ot.Delta
	toServer []doc.Change
	inbox    []simMsg
}

func (c *simClient) send(r *rand.Rand, delta ot.Delta) {
	c.seq++
	ch := doc.Change{Client: c.id, Seq: c.seq, Base: c.rev, Delta: delta}
	c.inflight, c.inSeq = &delta, c.seq
	c.toServer = append(c.toServer, ch)
	if r.IntN(10) == 0 {
		// A resend, as after a reconnect: it must be answered, not applied.
		c.toServer = append(c.toServer, ch)
	}
}

func (c *simClient) edit(t *testing.T, r *rand.Rand) {
	t.Helper()
	change := randomChange(r, c.doc)
	var err error
	if c.doc, err = ot.Apply(c.doc, change); err != nil {
		t.Fatalf("client %s: apply own edit: %v", c.id, err)
	}
	if c.inflight == nil {
		c.send(r, change)
		return
	}
	if c.buffer, err = c.buffer.Compose(change); err != nil {
		t.Fatalf("client %s: compose buffer: %v", c.id, err)
	}
}

func (c *simClient) receive(t *testing.T, r *rand.Rand, m simMsg) {
	t.Helper()
	if m.ack {
		if c.inflight == nil || m.seq != c.inSeq {
			return // the answer to a resend
		}
		c.inflight, c.rev = nil, m.op.Rev
		if len(c.buffer.Ops) > 0 {
			b := c.buffer
			c.buffer = ot.Delta{}
			c.send(r, b)
		}
		return
	}
	x := m.op.Delta
	var err error
	must := func(d ot.Delta, e error) ot.Delta {
		if e != nil {
			t.Fatalf("client %s: transform: %v", c.id, e)
		}
		return d
	}
	if c.inflight != nil {
		a := *c.inflight
		a2 := must(x.Transform(a, true))
		x = must(a.Transform(x, false))
		c.inflight = &a2
	}
	if len(c.buffer.Ops) > 0 {
		b := c.buffer
		c.buffer = must(x.Transform(b, true))
		x = must(b.Transform(x, false))
	}
	if c.doc, err = ot.Apply(c.doc, x); err != nil {
		t.Fatalf("client %s: apply remote revision %d: %v", c.id, m.op.Rev, err)
	}
	c.rev = m.op.Rev
}

func simSeed(t *testing.T) uint64 {
	if s := os.Getenv("COWRITE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COWRITE_SEED: %v", err)
		}
		return n
	}
	return rand.Uint64()
}

func TestSimulation(t *testing.T) {
	seed := simSeed(t)
	t.Logf("seed %d (set COWRITE_SEED to replay)", seed)
	runs := 2000
	if testing.Short() {
		runs = 200
	}
	for run := range runs {
		r := rand.New(rand.NewPCG(seed, uint64(run)))
		if err := simulate(t, r); err != nil {
			t.Fatalf("seed %d run %d: %v", seed, run, err)
		}
	}
}

func simulate(t *testing.T, r *rand.Rand) error {
	t.Helper()
	window := 1 + r.IntN(16)
	server := doc.New("epoch", doc.Options{Window: window})
	var log []doc.Sequenced // the store: every op, for bases older than the window
	clients := make([]*simClient, 2+r.IntN(4))
	for i := range clients {
		clients[i] = &simClient{id: fmt.Sprintf("c%d", i)}
	}
	edits := 5 + r.IntN(20)
	left := edits * len(clients)
	for {
		var busy []func()
		for _, c := range clients {
			if len(c.toServer) > 0 {
				busy = append(busy, func() {
					ch := c.toServer[0]
					c.toServer = c.toServer[1:]
					s, dup, err := server.Submit(ch)
					if errors.Is(err, doc.ErrStaleBase) {
						s, dup, err = server.SubmitWith(ch, log[ch.Base:server.Oldest()])
					}
					if err != nil {
						t.Fatalf("server: submit %s seq %d base %d: %v", ch.Client, ch.Seq, ch.Base, err)
					}
					c.inbox = append(c.inbox, simMsg{ack: true, seq: ch.Seq, op: s})
					if dup {
						return
					}
					log = append(log, s)
					for _, o := range clients {
						if o != c {
							o.inbox = append(o.inbox, simMsg{op: s})
						}
					}
				})
			}
			if len(c.inbox) > 0 {
				busy = append(busy, func() {
					m := c.inbox[0]
					c.inbox = c.inbox[1:]
					c.receive(t, r, m)
				})
			}
		}
		if left > 0 {
			busy = append(busy, func() {
				left--
				clients[r.IntN(len(clients))].edit(t, r)
			})
		}
		if len(busy) == 0 {
			break
		}
		busy[r.IntN(len(busy))]()
	}
	want := server.Snapshot()
	for _, c := range clients {
		if c.rev != server.Rev() {
			return fmt.Errorf("client %s at revision %d, server at %d", c.id, c.rev, server.Rev())
		}
		if !c.doc.Equal(want) {
			return fmt.Errorf("client %s diverged:\n got %v\nwant %v", c.id, c.doc, want)
		}
	}
	return nil
}

var simTexts = []string{"a", "b", "xyz", "é", "😀", "日本", "a😀b", "\n"}

// randomChange returns a random change of document d whose boundaries fall
// between characters: one to three inserts, deletes and formats.
func randomChange(r *rand.Rand, d ot.Delta) ot.Delta {
	var change ot.Delta
	n := 1 + r.IntN(3)
	cur := d
	for range n {
		b := boundaries(cur)
		i := r.IntN(len(b))
		j := i + r.IntN(min(len(b)-i, 4))
		var step ot.Delta
		switch r.IntN(4) {
		case 0, 1:
			var attrs ot.Attributes
			if r.IntN(3) == 0 {
				attrs = ot.Attributes{"bold": true}
			}
			step.Retain(b[i], nil)
			if r.IntN(8) == 0 {
				step.InsertEmbed(ot.Embed{Type: "image", Value: "x.png"}, attrs)
			} else {
				step.Insert(simTexts[r.IntN(len(simTexts))], attrs)
			}
		case 2:
			step.Retain(b[i], nil).Delete(b[j] - b[i])
		default:
			var attrs ot.Attributes
			switch r.IntN(3) {
			case 0:
				attrs = ot.Attributes{"bold": true}
			case 1:
				attrs = ot.Attributes{"bold": nil}
			default:
				attrs = ot.Attributes{"color": "red", "italic": true}
			}
			step.Retain(b[i], nil).Retain(b[j]-b[i], attrs)
		}
		var err error
		if change, err = change.Compose(step); err != nil {
			panic(err)
		}
		if cur, err = ot.Apply(cur, step); err != nil {
			panic(err)
		}
	}
	return change
}

// boundaries returns the UTF-16 offsets between the characters of a
// document, from 0 to its length.
func boundaries(d ot.Delta) []int {
	b := []int{0}
	at := 0
	for _, op := range d.Ops {
		if op.Embed != nil {
			at++
			b = append(b, at)
			continue
		}
		for _, c := range op.Insert {
			at += utf16.RuneLen(c)
			b = append(b, at)
		}
	}
	return b
}
