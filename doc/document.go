package doc

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/cowrite/cowrite/ot"
)

// Rev is a document revision. Revision 0 is the empty document; the op
// stored at revision r is the op that produced it.
type Rev int64

// DefaultWindow is the number of recent ops a Document keeps by default.
const DefaultWindow = 1024

// Options configure a Document.
type Options struct {
	// Window is how many recent ops the document keeps in memory to
	// transform late ops over. Default DefaultWindow. Zero means the
	// default, never none.
	Window int
}

// A Change is an op as a client sends it: made on revision Base, the seq-th
// change of the client with id Client.
type Change struct {
	Client string
	Seq    uint64
	Base   Rev
	Delta  ot.Delta
	Author string    // who made it, as the server knows them; kept with the op
	Time   time.Time // when the server received it; kept with the op
	// User is the verified user whose client sent it ("" without
	// tokens): the client id is theirs from then on (ClientState.User).
	User string
}

// Sequenced is an op that became a revision: its delta as applied, after
// transforming it over the ops that came before it.
type Sequenced struct {
	Rev    Rev
	Client string
	Seq    uint64
	Delta  ot.Delta
	Digest uint64 // Digest of the delta as the client sent it
	Author string
	Time   time.Time
	User   string // Change.User
}

// ClientState is what a document remembers of a client: the highest seq
// applied, the digest of that op and the revision it became, and the user
// whose client it is ("" when its ops came without a verified user).
type ClientState struct {
	Seq    uint64
	Digest uint64
	Rev    Rev
	User   string
}

// A Document is one document's state: content, epoch, revision, a window of
// recent ops and the last op applied per client. It is not safe for
// concurrent use.
type Document struct {
	epoch   string
	rev     Rev
	content *Content
	window  []Sequenced // the ops of revisions rev-len(window)+1 .. rev
	size    int
	clients map[string]ClientState
}

// New returns an empty document at revision 0.
func New(epoch string, opts Options) *Document {
	d, _ := Restore(epoch, 0, ot.Delta{}, opts)
	return d
}

// Restore returns a document at revision rev with the given content, as
// read from a snapshot, and no client states; Load also replays the ops
// after the snapshot and sets the client states kept beside it.
func Restore(epoch string, rev Rev, content ot.Delta, opts Options) (*Document, error) {
	if rev < 0 {
		return nil, fmt.Errorf("restore at revision %d: %w", rev, ErrHistory)
	}
	c, err := NewContentFrom(content)
	if err != nil {
		return nil, fmt.Errorf("restore snapshot at %d: %w", rev, err)
	}
	size := opts.Window
	if size <= 0 {
		size = DefaultWindow
	}
	return &Document{epoch: epoch, rev: rev, content: c, size: size, clients: map[string]ClientState{}}, nil
}

// Epoch returns the document's epoch, a random id fixed at creation and
// changed when its history is replaced.
func (d *Document) Epoch() string { return d.epoch }

// Rev returns the current revision.
func (d *Document) Rev() Rev { return d.rev }

// Len returns the content's length in UTF-16 code units.
func (d *Document) Len() int { return d.content.Len() }

// Snapshot returns the content as a document delta.
func (d *Document) Snapshot() ot.Delta { return d.content.Delta() }

// Text returns the content as plain text, embeds left out.
func (d *Document) Text() string { return d.content.Text() }

// Client returns what the document remembers of a client.
func (d *Document) Client(id string) (ClientState, bool) {
	cs, ok := d.clients[id]
	return cs, ok
}

// Oldest returns the lowest base revision that Submit accepts without older
// ops: ops after it are all in the window.
func (d *Document) Oldest() Rev { return d.rev - Rev(len(d.window)) }

// Since returns the ops after revision rev, oldest first. It fails with
// ErrStaleBase when some of them have left the window, and ErrFutureBase
// when rev is ahead of the document. The slice is shared: do not modify it.
func (d *Document) Since(rev Rev) ([]Sequenced, error) {
	switch {
	case rev > d.rev:
		return nil, ErrFutureBase
	case rev < d.Oldest():
		return nil, ErrStaleBase
	}
	return d.window[len(d.window)-int(d.rev-rev):], nil
}

// Submit sequences a client's change, as SubmitWith with no older ops.
func (d *Document) Submit(c Change) (s Sequenced, dup bool, err error) {
	return d.SubmitWith(c, nil)
}

// SubmitWith sequences a client's change: it transforms the delta over the
// ops after its base revision (theirs win ties), checks that it fits,
// applies it and returns it as the next revision.
//
// A change whose client and seq were applied already is not applied again:
// with the same delta it returns the first result's revision and dup set
// (the returned Sequenced has no delta); with another delta it fails with
// ErrSeqConflict. A base older than the window fails with ErrStaleBase
// unless older holds the ops from base+1 up to Oldest(); a base ahead of
// the document fails with ErrFutureBase. A delta that is invalid or does not
// fit fails with an error wrapping ot's sentinel. On any error the document
// is unchanged.
func (d *Document) SubmitWith(c Change, older []Sequenced) (s Sequenced, dup bool, err error) {
	if c.Client == "" || c.Seq == 0 {
		return Sequenced{}, false, ErrClient
	}
	digest := Digest(c.Delta)
	if cs, ok := d.clients[c.Client]; ok && c.Seq <= cs.Seq {
		switch {
		case c.Seq < cs.Seq:
			return Sequenced{}, false, ErrSeqOld
		case digest != cs.Digest:
			return Sequenced{}, false, ErrSeqConflict
		}
		return Sequenced{Rev: cs.Rev, Client: c.Client, Seq: c.Seq, Digest: digest}, true, nil
	}
	if c.Base > d.rev || c.Base < 0 {
		return Sequenced{}, false, ErrFutureBase
	}
	if err := c.Delta.Validate(); err != nil {
		return Sequenced{}, false, err
	}
	delta := c.Delta
	if c.Base < d.Oldest() {
		if err := d.checkOlder(c.Base, older); err != nil {
			return Sequenced{}, false, err
		}
		if delta, err = transformOver(delta, older); err != nil {
			return Sequenced{}, false, err
		}
	}
	after, err := d.Since(max(c.Base, d.Oldest()))
	if err != nil {
		return Sequenced{}, false, err
	}
	if delta, err = transformOver(delta, after); err != nil {
		return Sequenced{}, false, err
	}
	s = Sequenced{Rev: d.rev + 1, Client: c.Client, Seq: c.Seq, Delta: delta, Digest: digest, Author: c.Author, Time: c.Time, User: c.User}
	if err := d.content.Apply(delta); err != nil {
		return Sequenced{}, false, err
	}
	d.advance(s)
	return s, false, nil
}

// checkOlder checks that older holds exactly the ops from base+1 to
// Oldest().
func (d *Document) checkOlder(base Rev, older []Sequenced) error {
	if len(older) == 0 {
		return ErrStaleBase
	}
	if Rev(len(older)) != d.Oldest()-base {
		return fmt.Errorf("%w: need revisions %d to %d, have %d ops", ErrHistory, base+1, d.Oldest(), len(older))
	}
	for i, s := range older {
		if s.Rev != base+1+Rev(i) {
			return fmt.Errorf("%w: op %d has revision %d, want %d", ErrHistory, i, s.Rev, base+1+Rev(i))
		}
	}
	return nil
}

func transformOver(delta ot.Delta, ops []Sequenced) (ot.Delta, error) {
	var err error
	for _, s := range ops {
		if delta, err = s.Delta.Transform(delta, true); err != nil {
			return ot.Delta{}, err
		}
	}
	return delta, nil
}

// Replay applies an op that was sequenced before, as read from the log:
// its revision must be the next one. It records the op's client state.
func (d *Document) Replay(s Sequenced) error {
	if s.Rev != d.rev+1 {
		return fmt.Errorf("%w: replay of revision %d onto %d", ErrHistory, s.Rev, d.rev)
	}
	if err := d.content.Apply(s.Delta); err != nil {
		return fmt.Errorf("replay revision %d: %w", s.Rev, err)
	}
	d.advance(s)
	return nil
}

// advance records s as the new revision.
func (d *Document) advance(s Sequenced) {
	d.rev = s.Rev
	if len(d.window) >= 2*d.size {
		// Drop the older half; the copy is amortised over size appends.
		n := copy(d.window, d.window[len(d.window)-d.size:])
		clear(d.window[n:])
		d.window = d.window[:n]
	}
	d.window = append(d.window, s)
	if s.Client != "" {
		d.clients[s.Client] = ClientState{Seq: s.Seq, Digest: s.Digest, Rev: s.Rev, User: s.User}
	}
}

// Digest returns a stable 64-bit digest of a delta, equal for deltas that
// encode to the same JSON: the same on every machine and across restarts, so
// it can be stored to recognise a resent op.
func Digest(delta ot.Delta) uint64 {
	h := fnv.New64a()
	// Encoding a validated delta cannot fail; an invalid one still hashes
	// what it holds.
	b, err := json.Marshal(delta)
	if err != nil {
		fmt.Fprintf(h, "%#v", delta.Ops)
	} else {
		h.Write(b)
	}
	return h.Sum64()
}
