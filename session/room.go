package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// storeTimeout bounds every store call a room makes.
const storeTimeout = 30 * time.Second

// inboxSize is how many events may wait for a room; a peer posting to a
// full inbox waits, which slows that client's reads. An event is about
// 170 bytes and every loaded room holds its inbox, so it is kept well below
// Config.Batch: a batch is what is queued when the room collects, and 64
// waiting events already make one sync serve 64 ops.
const inboxSize = 64

type evKind int

const (
	evJoin evKind = iota
	evLeave
	evOp
	evPresence
	evSubmit
	evDelete
)

// An event is work for a room, posted by peers and the manager.
type event struct {
	kind   evKind
	member *member
	submit Submit
	sel    *Selection
	change doc.Change        // evSubmit
	user   string            // evSubmit: the token user who sends it
	reply  chan submitResult // evSubmit, evDelete
}

type submitResult struct {
	seq doc.Sequenced
	err error
}

// A member is a joined connection, as its room sees it. Only the room's
// goroutine touches a member after the join.
type member struct {
	peer   *Peer
	hello  Hello
	access string
	user   string // the token's user id; "" in open mode
	sel    *Selection
	dirty  bool // sel changed since the last presence broadcast
}

// A room owns one open document: one goroutine (run) sequences its ops,
// commits them, and fans out acks, ops and presence, in revision order.
type room struct {
	m  *Manager
	id string

	refs int // guarded by m.mu

	inbox    chan event
	quit     chan struct{}
	quitOnce sync.Once
	done     chan struct{} // closed when run returns
	err      error         // why run returned early; read after done

	// postMu guards the fields below: whether the room still takes events,
	// and how many posts are under way.
	postMu  sync.Mutex
	stopped bool
	posting int

	// Owned by run.
	doc     *doc.Document
	members map[string]*member // by client id
	// owners maps a client id to the token user that holds it: while it
	// is a member, and while the document has its dedupe records, so
	// entries are bounded by members plus doc's client records. Another
	// user may neither join with it nor submit under it: that would hand
	// them the owner's seq and dedupe records, put ops under the owner's
	// id (which the owner's client takes for its own in a catch-up), and
	// lock the owner out. Kept while the room is loaded, besides the
	// user doc's client records keep durably; empty in open mode.
	owners   map[string]string
	lastSnap doc.Rev
	log      zerolog.Logger
	out      []output        // what to send once the current batch is durable
	fresh    []doc.Sequenced // sequenced in the current batch, not yet durable
	prev     doc.Rev         // the durable revision the batch extends
	presence *time.Timer
	armed    bool // presence timer running
}

// An output is a frame for one member, or for all but one, or a reply.
type output struct {
	to     *member // nil: every member but except
	except *member
	frame  []byte
	reply  chan submitResult
	result submitResult
}

func newRoom(m *Manager, id string) *room {
	return &room{
		m:       m,
		id:      id,
		inbox:   make(chan event, min(inboxSize, m.cfg.Batch)),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		members: map[string]*member{},
		owners:  map[string]string{},
		log:     m.cfg.Logger.With().Str("doc", id).Logger(),
	}
}

// post hands ev to the room. It reports false when the room has stopped
// or ctx ended first. An event it did hand over is always answered: by the
// room, or by stop when the room ends.
func (r *room) post(ctx context.Context, ev event) bool {
	r.postMu.Lock()
	if r.stopped {
		r.postMu.Unlock()
		return false
	}
	r.posting++
	r.postMu.Unlock()
	defer func() {
		r.postMu.Lock()
		r.posting--
		r.postMu.Unlock()
	}()
	select {
	case r.inbox <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// stop closes the room to new events and answers every event posted
// before, waiting for the posts under way to land.
func (r *room) stop() {
	err := r.err
	if err == nil {
		err = ErrShutdown
	}
	r.postMu.Lock()
	r.stopped = true
	r.postMu.Unlock()
	for {
		r.refuseQueued(err)
		r.postMu.Lock()
		n := r.posting
		r.postMu.Unlock()
		if n == 0 {
			r.refuseQueued(err)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// failure returns why the room stopped.
func (r *room) failure() error {
	<-r.done
	if r.err != nil {
		return r.err
	}
	return ErrShutdown
}

func (r *room) shutdown() { r.quitOnce.Do(func() { close(r.quit) }) }

func (r *room) run() {
	defer close(r.done)
	defer r.stop()
	if err := r.load(); err != nil {
		r.err = err
		r.m.forget(r)
		r.log.Error().Err(err).Msg("load document")
		return
	}
	r.m.cfg.Metrics.RoomLoaded()
	defer r.m.cfg.Metrics.RoomUnloaded()
	idle := time.NewTimer(r.m.cfg.IdleUnload)
	defer idle.Stop()
	r.presence = time.NewTimer(time.Hour)
	r.presence.Stop()
	defer r.presence.Stop()
	for {
		select {
		case ev := <-r.inbox:
			batch := r.collect(ev)
			if !r.handle(batch) {
				return
			}
		case <-r.presence.C:
			r.armed = false
			r.flushPresence()
		case <-idle.C:
			if len(r.members) == 0 && r.m.unload(r) {
				r.snapshot()
				r.log.Debug().Int64("rev", int64(r.doc.Rev())).Msg("unloaded")
				return
			}
		case <-r.quit:
			if !r.handle(r.collect()) {
				return
			}
			r.snapshot()
			for _, mem := range r.members {
				mem.peer.conn.Close(CloseGoingAway, "server shutting down")
			}
			return
		}
		if len(r.members) == 0 {
			idle.Reset(r.m.cfg.IdleUnload)
		}
	}
}

func (r *room) load() error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	stored, err := r.m.cfg.Store.Load(ctx, r.id)
	if err != nil {
		return err
	}
	window := max(r.m.cfg.Window, 2*r.m.cfg.Batch)
	d, err := doc.Load(stored, doc.Options{Window: window})
	if err != nil {
		return errors.Join(doc.ErrCorrupt, err)
	}
	r.doc, r.lastSnap, r.prev = d, stored.SnapshotRev, d.Rev()
	return nil
}

// collect returns first and whatever else is queued, up to a batch.
func (r *room) collect(first ...event) []event {
	batch := first
	for len(batch) < r.m.cfg.Batch {
		select {
		case ev := <-r.inbox:
			batch = append(batch, ev)
		default:
			return batch
		}
	}
	return batch
}

// refuseQueued answers the events left in the inbox of a stopped room.
func (r *room) refuseQueued(err error) {
	for {
		select {
		case ev := <-r.inbox:
			if ev.reply != nil {
				ev.reply <- submitResult{err: err}
			}
			if ev.kind == evJoin {
				code, closeCode := CodeUnavailable, CloseUnavailable
				if errors.Is(err, ErrShutdown) {
					code, closeCode = CodeShuttingDown, CloseGoingAway
				} else if errors.Is(err, doc.ErrNotFound) {
					code, closeCode = CodeNotFound, CloseNotFound
				}
				ev.member.peer.refuse(code, "the document is not available", closeCode)
			}
		default:
			return
		}
	}
}

// handle runs a batch of events and commits what they sequenced. It
// reports false when the room must stop.
func (r *room) handle(batch []event) bool {
	for _, ev := range batch {
		switch ev.kind {
		case evJoin:
			// A newcomer's welcome holds only durable state, and no op
			// reaches it before its welcome.
			if !r.commit() {
				return false
			}
			r.join(ev.member)
		case evLeave:
			r.leave(ev.member)
		case evOp:
			r.op(ev.member, ev.submit)
		case evSubmit:
			r.submit(ev.change, ev.user, ev.reply)
		case evPresence:
			r.setPresence(ev.member, ev.sel)
		case evDelete:
			if !r.commit() {
				return false
			}
			for _, mem := range r.members {
				mem.peer.conn.Close(CloseNotFound, "document deleted")
			}
			r.members = map[string]*member{}
			r.err = doc.ErrNotFound
			r.m.forget(r)
			ev.reply <- submitResult{}
			return false
		}
	}
	return r.commit()
}

// sequence runs the sequencer step, fetching older ops from the store when
// the change's base has left the window.
func (r *room) sequence(c doc.Change) (doc.Sequenced, bool, error) {
	s, dup, err := r.doc.Submit(c)
	if !errors.Is(err, doc.ErrStaleBase) {
		return s, dup, err
	}
	// Ops at or below Oldest are durable: the ops of the current batch are
	// all in the window.
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	older, err := r.m.cfg.Store.Ops(ctx, r.id, c.Base, r.doc.Oldest())
	if err != nil {
		return doc.Sequenced{}, false, err
	}
	return r.doc.SubmitWith(c, older)
}

func (r *room) op(mem *member, sub Submit) {
	if r.members[mem.hello.Client] != mem {
		return // evicted or replaced; its ops are not taken
	}
	if mem.access != AccessEdit {
		r.m.cfg.Metrics.OpRejected(CodeReadOnly)
		r.queue(output{to: mem, frame: encode(&Error{Code: CodeReadOnly, Msg: "this connection may not edit", Seq: sub.Seq})})
		return
	}
	c := doc.Change{Client: mem.hello.Client, Seq: sub.Seq, Base: sub.Base, Delta: sub.Delta, Author: mem.hello.Name, Time: time.Now().UTC(), User: mem.user}
	if r.overfills(c) {
		r.m.cfg.Metrics.OpRejected(CodeTooLarge)
		r.queue(output{to: mem, frame: encode(&Error{Code: CodeTooLarge, Msg: fmt.Sprintf("the document would be longer than %d units", r.m.cfg.MaxDocLen), Seq: sub.Seq})})
		return
	}
	s, dup, err := r.sequence(c)
	if err != nil {
		code, msg := errorCode(err)
		if code == CodeInternal {
			r.log.Error().Err(err).Str("client", c.Client).Msg("sequence op")
		}
		r.m.cfg.Metrics.OpRejected(code)
		r.queue(output{to: mem, frame: encode(&Error{Code: code, Msg: msg, Seq: sub.Seq})})
		return
	}
	r.queue(output{to: mem, frame: encode(&Ack{Seq: sub.Seq, Rev: s.Rev})})
	if dup {
		r.m.cfg.Metrics.DedupeHit()
		return
	}
	r.fresh = append(r.fresh, s)
	r.queue(output{except: mem, frame: encode(remote(s))})
}

// overfills reports whether a change would make the document longer than
// Config.MaxDocLen. A change the document already applied (a resend) is
// never refused: it is acknowledged again.
func (r *room) overfills(c doc.Change) bool {
	grow := c.Delta.ChangeLength()
	if grow <= 0 || r.doc.Len()+grow <= r.m.cfg.MaxDocLen {
		return false
	}
	if cs, ok := r.doc.Client(c.Client); ok && c.Seq <= cs.Seq {
		return false
	}
	return true
}

func (r *room) submit(c doc.Change, user string, reply chan submitResult) {
	c.User = user
	if r.heldByOther(c.Client, user) {
		reply <- submitResult{err: ErrClientInUse}
		return
	}
	if r.overfills(c) {
		reply <- submitResult{err: ErrTooLarge}
		return
	}
	s, dup, err := r.sequence(c)
	if err != nil {
		reply <- submitResult{err: err}
		return
	}
	if !dup {
		r.fresh = append(r.fresh, s)
		r.queue(output{frame: encode(remote(s))})
	}
	if user != "" {
		r.owners[c.Client] = user
	}
	r.queue(output{reply: reply, result: submitResult{seq: s}})
}

// heldByOther reports whether client id is held by a token user other
// than user (see owners). In open mode nobody holds anything.
func (r *room) heldByOther(client, user string) bool {
	owner, ok := r.owners[client]
	if !ok {
		// The document remembers whose it is, across unloads and
		// restarts (records written before it did remember have no
		// user, and are nobody's).
		cs, known := r.doc.Client(client)
		owner, ok = cs.User, known && cs.User != ""
	}
	return ok && owner != user
}

// forgetOwner forgets who holds a client id that left, unless the document
// keeps dedupe records of it.
func (r *room) forgetOwner(client string) {
	if _, ok := r.doc.Client(client); !ok {
		delete(r.owners, client)
	}
}

func remote(s doc.Sequenced) *Remote {
	return &Remote{Rev: s.Rev, Delta: s.Delta, Client: s.Client, Seq: s.Seq, Author: s.Author}
}

func (r *room) queue(o output) { r.out = append(r.out, o) }

// commit makes the batch's ops durable, then sends what waited for them.
// On a store failure it stops the room: its clients reconnect and resend,
// and the next join loads the durable state afresh.
func (r *room) commit() bool {
	if len(r.fresh) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		start := time.Now()
		err := r.m.cfg.Store.Append(ctx, r.id, r.prev, r.fresh)
		r.m.cfg.Metrics.Commit(time.Since(start), len(r.fresh))
		cancel()
		if err != nil {
			r.fail(err)
			return false
		}
		for _, s := range r.fresh {
			r.transformSelections(s.Delta)
			r.m.cfg.Metrics.OpAccepted() // durable now
		}
		r.prev = r.doc.Rev()
		r.fresh = r.fresh[:0]
	}
	for i, o := range r.out {
		r.deliver(o)
		r.out[i] = output{}
	}
	r.out = r.out[:0]
	if r.doc.Rev()-r.lastSnap >= doc.Rev(r.m.cfg.SnapshotEvery) {
		r.snapshot()
	}
	return true
}

func (r *room) deliver(o output) {
	switch {
	case o.reply != nil:
		o.reply <- o.result
	case o.to != nil:
		if r.members[o.to.hello.Client] == o.to {
			r.send(o.to, o.frame)
		}
	default:
		for _, mem := range r.members {
			if mem != o.except {
				r.send(mem, o.frame)
			}
		}
	}
}

// fail stops the room after a store failure. Nothing of the batch was
// acknowledged.
func (r *room) fail(err error) {
	r.log.Error().Err(err).Int64("rev", int64(r.prev)).Int("ops", len(r.fresh)).Msg("commit failed; closing document")
	r.err = errors.Join(ErrRoomFailed, err)
	r.m.forget(r)
	for _, o := range r.out {
		if o.reply != nil {
			o.reply <- submitResult{err: r.err}
		}
	}
	for _, mem := range r.members {
		mem.peer.conn.Close(CloseInternal, "document closed after a store failure")
	}
	r.members = map[string]*member{}
}

// snapshot stores the content when it moved since the last snapshot.
func (r *room) snapshot() {
	if r.doc.Rev() == r.lastSnap {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := r.m.cfg.Store.SaveSnapshot(ctx, r.id, r.doc.Rev(), r.doc.Snapshot()); err != nil {
		// The log holds everything; a missing snapshot only slows loading.
		r.log.Warn().Err(err).Int64("rev", int64(r.doc.Rev())).Msg("save snapshot")
		return
	}
	r.lastSnap = r.doc.Rev()
}

// send writes a frame to a member, evicting it when it cannot keep up.
func (r *room) send(mem *member, frame []byte) {
	if frame == nil {
		return
	}
	switch err := mem.peer.conn.Send(frame); {
	case errors.Is(err, ErrSlow):
		r.log.Info().Str("client", mem.hello.Client).Msg("slow consumer disconnected")
		r.m.cfg.Metrics.SlowConsumer()
		mem.peer.conn.Close(CloseTooSlow, "too slow to read; reconnect and catch up")
		r.leave(mem)
	case err != nil:
		r.leave(mem)
	}
}

func (r *room) join(mem *member) {
	h := mem.hello
	old := r.members[h.Client]
	if (old != nil && old.user != mem.user) || r.heldByOther(h.Client, mem.user) {
		// A token does not let one user take over another's connection,
		// nor the seq and dedupe records of another's client id.
		mem.peer.refuse(CodeUnauthorized, "client id in use by another user", CloseUnauthorized)
		return
	}
	if old != nil {
		// The same tab reconnected before its old connection was noticed
		// gone: the new one takes over without a leave.
		delete(r.members, h.Client)
		old.peer.conn.Close(CloseNormal, "replaced by a newer connection")
		if old.access == AccessEdit && mem.access != AccessEdit {
			// The newcomer will not be shown: take the old one away.
			frame := encode(&Leave{Client: h.Client})
			for _, other := range r.members {
				r.send(other, frame)
			}
		}
	}
	w := &Welcome{Epoch: r.doc.Epoch(), Rev: r.doc.Rev(), Access: mem.access}
	if cs, ok := r.doc.Client(h.Client); ok {
		w.Seq = cs.Seq
	}
	switch {
	case h.Rev < 0:
		w.Snapshot = snapshotOf(r.doc)
	case h.Epoch != "" && h.Epoch != r.doc.Epoch(), h.Rev > r.doc.Rev(), r.doc.Rev()-h.Rev > doc.Rev(r.m.cfg.MaxCatchUp):
		w.Snapshot, w.Reset = snapshotOf(r.doc), true
	default:
		ops, err := r.catchUp(h.Rev)
		if err != nil {
			r.log.Warn().Err(err).Int64("rev", int64(h.Rev)).Msg("catch up from the store")
			w.Snapshot, w.Reset = snapshotOf(r.doc), true
		} else {
			w.Ops = ops
		}
	}
	if w.Reset {
		r.m.cfg.Metrics.Resync()
	}
	for _, other := range r.members {
		if other.access == AccessEdit { // readers are never shown
			w.Presence = append(w.Presence, *presenceOf(other))
		}
	}
	r.members[h.Client] = mem
	if mem.user != "" {
		r.owners[h.Client] = mem.user
	}
	r.send(mem, encode(w))
	if r.members[h.Client] != mem || mem.access != AccessEdit {
		return // too slow for its own welcome, or a reader, never shown
	}
	announce := encode(presenceOf(mem))
	for _, other := range r.members {
		if other != mem {
			r.send(other, announce)
		}
	}
}

func snapshotOf(d *doc.Document) *ot.Delta {
	s := d.Snapshot()
	return &s
}

// catchUp returns the ops after rev, from the window or the store.
func (r *room) catchUp(rev doc.Rev) ([]Remote, error) {
	ops, err := r.doc.Since(rev)
	if errors.Is(err, doc.ErrStaleBase) {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		ops, err = r.m.cfg.Store.Ops(ctx, r.id, rev, r.doc.Rev())
	}
	if err != nil {
		return nil, err
	}
	out := make([]Remote, len(ops))
	for i, s := range ops {
		out[i] = *remote(s)
	}
	return out, nil
}

func presenceOf(mem *member) *Presence {
	return &Presence{Client: mem.hello.Client, Name: mem.hello.Name, Color: mem.hello.Color, Sel: mem.sel}
}

func (r *room) leave(mem *member) {
	if r.members[mem.hello.Client] != mem {
		return
	}
	delete(r.members, mem.hello.Client)
	r.forgetOwner(mem.hello.Client)
	if mem.access != AccessEdit {
		return // never shown, so never gone
	}
	frame := encode(&Leave{Client: mem.hello.Client})
	for _, other := range r.members {
		r.send(other, frame)
	}
}

// setPresence records a member's selection, clamped to the document; it is
// broadcast with the next presence flush.
func (r *room) setPresence(mem *member, sel *Selection) {
	if r.members[mem.hello.Client] != mem || mem.access != AccessEdit {
		return
	}
	if sel != nil {
		// The client saw no op of the current batch: clamp to the durable
		// length; commit then moves the selection through the batch.
		n := r.doc.Len()
		for _, s := range r.fresh {
			n -= s.Delta.ChangeLength()
		}
		index := min(sel.Index, n)
		sel = &Selection{Index: index, Length: min(sel.Length, n-index)}
	}
	mem.sel, mem.dirty = sel, true
	if !r.armed {
		r.armed = true
		r.presence.Reset(r.m.cfg.PresenceInterval)
	}
}

func (r *room) flushPresence() {
	for _, mem := range r.members {
		if !mem.dirty {
			continue
		}
		mem.dirty = false
		frame := encode(presenceOf(mem))
		for _, other := range r.members {
			if other != mem {
				r.send(other, frame)
			}
		}
	}
}

// transformSelections moves every stored selection through an op.
func (r *room) transformSelections(d ot.Delta) {
	for _, mem := range r.members {
		if mem.sel != nil {
			mem.sel = mem.sel.Transform(d)
		}
	}
}

// encode encodes a message the server built itself from validated values,
// so it does not fail; if it ever did, the frame is nil and not sent.
func encode(msg any) []byte {
	frame, _ := Encode(msg)
	return frame
}

// errorCode maps a sequencing error to its wire code and message.
func errorCode(err error) (code, msg string) {
	switch {
	case errors.Is(err, ot.ErrInvalid):
		return CodeBadDelta, err.Error()
	case errors.Is(err, ot.ErrLength), errors.Is(err, ot.ErrSurrogate):
		return CodeDoesNotFit, err.Error()
	case errors.Is(err, doc.ErrFutureBase):
		return CodeFutureRev, "base revision is ahead of the document"
	case errors.Is(err, doc.ErrSeqConflict):
		return CodeSeqConflict, "seq was already applied with a different op"
	case errors.Is(err, doc.ErrSeqOld):
		return CodeSeqOld, "seq is below the last one applied"
	case errors.Is(err, doc.ErrClient):
		return CodeBadMessage, "op needs a seq from 1"
	}
	return CodeInternal, "the op could not be applied"
}
