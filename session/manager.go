package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// A Manager runs the rooms of a server: one per open document, loaded on
// the first join and unloaded when idle. Its methods are safe for
// concurrent use.
type Manager struct {
	cfg Config

	mu      sync.Mutex
	rooms   map[string]*room
	closing bool

	wg sync.WaitGroup // running rooms

	usersMu sync.Mutex
	users   map[string]int     // open connections by token user, after hello
	tokens  map[*Peer]struct{} // connections that hold a token (token.go)

	// joins limits each token user's joins (Config.JoinRate): a client
	// closed for flooding cannot come back at once with fresh buckets,
	// and each join, which may cost a whole snapshot, is paid for.
	joins KeyedLimiter
}

// NewManager returns a manager over cfg.Store.
func NewManager(cfg Config) *Manager {
	m := &Manager{cfg: cfg.withDefaults(), rooms: map[string]*room{}}
	m.joins.PerSec = m.cfg.JoinRate
	return m
}

// acquire returns the room of document id, starting it when none runs, and
// counts a reference to it that release gives back. A room with
// references is never unloaded.
func (m *Manager) acquire(id string) (*room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return nil, ErrShutdown
	}
	r := m.rooms[id]
	if r == nil {
		r = newRoom(m, id)
		m.rooms[id] = r
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			r.run()
		}()
	}
	r.refs++
	return r, nil
}

func (m *Manager) release(r *room) {
	m.mu.Lock()
	r.refs--
	m.mu.Unlock()
}

// unload removes r from the manager if nobody holds it, and reports whether
// it did. Called by the room itself.
func (m *Manager) unload(r *room) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.refs > 0 {
		return false
	}
	if m.rooms[r.id] == r {
		delete(m.rooms, r.id)
	}
	return true
}

// forget removes a failed or deleted room at once, whatever its references.
func (m *Manager) forget(r *room) {
	m.mu.Lock()
	if m.rooms[r.id] == r {
		delete(m.rooms, r.id)
	}
	m.mu.Unlock()
}

// Connect starts a session for a new connection to document id. The
// transport passes every frame the client sends to the returned Peer's
// Receive, and calls its Closed when the connection ends.
func (m *Manager) Connect(id string, c Conn) *Peer {
	m.cfg.Metrics.ConnOpened()
	p := &Peer{m: m, docID: id, conn: &countingConn{Conn: c, metrics: m.cfg.Metrics}}
	p.helloTimer = time.AfterFunc(m.cfg.HelloTimeout, p.helloTimeout)
	return p
}

// ensure creates document id, empty, when it does not exist.
func (m *Manager) ensure(ctx context.Context, id string) error {
	_, err := m.cfg.Store.Meta(ctx, id)
	if !errors.Is(err, doc.ErrNotFound) {
		return err
	}
	_, err = m.Create(ctx, id, "", ot.Delta{})
	if errors.Is(err, doc.ErrExists) {
		return nil
	}
	return err
}

// Create makes a new document with a fresh epoch and the given title and
// initial content. It fails with doc.ErrExists when id is taken, and with
// ErrTooLarge when the content is longer than Config.MaxDocLen.
func (m *Manager) Create(ctx context.Context, id, title string, initial ot.Delta) (doc.Meta, error) {
	if !ValidDocID(id) {
		return doc.Meta{}, ErrBadDocID
	}
	if !initial.IsDocument() {
		return doc.Meta{}, ot.ErrNotDocument
	}
	if err := initial.Validate(); err != nil {
		return doc.Meta{}, err
	}
	if initial.Length() > m.cfg.MaxDocLen {
		return doc.Meta{}, ErrTooLarge
	}
	now := time.Now().UTC()
	meta := doc.Meta{ID: id, Epoch: NewEpoch(), Title: title, Created: now, Updated: now}
	if err := m.cfg.Store.Create(ctx, meta, initial.Canonical()); err != nil {
		return doc.Meta{}, err
	}
	return meta, nil
}

// Submit sequences a change made by a program rather than a connection,
// and returns it once durable. A change without a client id gets a fresh
// one, so it is never taken for a resend; one whose client id or seq a
// WebSocket frame could not carry fails with ErrBadClient. user is the
// token user who sends it ("" in open mode, or for the server's own
// programs): a client id that another user holds in the document (see
// room.owners) fails with ErrClientInUse.
func (m *Manager) Submit(ctx context.Context, id, user string, c doc.Change) (doc.Sequenced, error) {
	if !ValidDocID(id) {
		return doc.Sequenced{}, ErrBadDocID
	}
	if c.Client == "" {
		c.Client, c.Seq = "api-"+NewEpoch(), 1
	}
	if !validClientID(c.Client) || specSeq.checkUint(c.Seq) != "" {
		return doc.Sequenced{}, ErrBadClient
	}
	if why := m.tooLarge(c.Delta); why != "" {
		return doc.Sequenced{}, fmt.Errorf("%w: %s", ErrDeltaTooLarge, why)
	}
	if _, err := m.cfg.Store.Meta(ctx, id); err != nil {
		return doc.Sequenced{}, err
	}
	r, err := m.acquire(id)
	if err != nil {
		return doc.Sequenced{}, err
	}
	defer m.release(r)
	reply := make(chan submitResult, 1)
	c.Time = time.Now().UTC()
	if !r.post(ctx, event{kind: evSubmit, change: c, user: user, reply: reply}) {
		if err := ctx.Err(); err != nil {
			return doc.Sequenced{}, err
		}
		return doc.Sequenced{}, r.failure()
	}
	select {
	case res := <-reply:
		return res.seq, res.err
	case <-ctx.Done():
		return doc.Sequenced{}, ctx.Err()
	}
}

// Delete closes document id's room, telling its clients with
// CloseNotFound, and removes the document from the store.
func (m *Manager) Delete(ctx context.Context, id string) error {
	if !ValidDocID(id) {
		return ErrBadDocID
	}
	if _, err := m.cfg.Store.Meta(ctx, id); err != nil {
		return err
	}
	r, err := m.acquire(id)
	if err != nil {
		return err
	}
	defer m.release(r)
	done := make(chan submitResult, 1)
	if r.post(ctx, event{kind: evDelete, reply: done}) {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return m.cfg.Store.Delete(ctx, id)
}

// Ready reports whether the manager takes new sessions: ErrShutdown once
// it began to close.
func (m *Manager) Ready() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		return ErrShutdown
	}
	return nil
}

// Rooms returns how many rooms are loaded.
func (m *Manager) Rooms() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rooms)
}

// Close shuts the manager down: it refuses new sessions, lets every room
// commit what it has sequenced, snapshot and close its connections with
// CloseGoingAway, and waits for them until ctx ends.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closing = true
	rooms := make([]*room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	for _, r := range rooms {
		r.shutdown()
	}
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close rooms: %w", ctx.Err())
	}
}

// NewEpoch returns a new random id for an epoch or a generated client.
func NewEpoch() string { return rand.Text() }

// List returns every document's metadata, ordered by id.
func (m *Manager) List(ctx context.Context) ([]doc.Meta, error) { return m.cfg.Store.List(ctx) }

// Meta returns a document's metadata.
func (m *Manager) Meta(ctx context.Context, id string) (doc.Meta, error) {
	if !ValidDocID(id) {
		return doc.Meta{}, ErrBadDocID
	}
	return m.cfg.Store.Meta(ctx, id)
}

// Get returns a document's content at revision rev, or at its latest
// acknowledged revision when rev is negative, with its metadata.
func (m *Manager) Get(ctx context.Context, id string, rev doc.Rev) (ot.Delta, doc.Meta, error) {
	meta, err := m.Meta(ctx, id)
	if err != nil {
		return ot.Delta{}, doc.Meta{}, err
	}
	if rev < 0 {
		rev = meta.Rev
	}
	if rev > meta.Rev {
		return ot.Delta{}, meta, fmt.Errorf("revision %d of %s: %w", rev, id, doc.ErrNotFound)
	}
	content, err := m.cfg.Store.At(ctx, id, rev)
	return content, meta, err
}

// Ops returns a document's ops with from < rev <= to.
func (m *Manager) Ops(ctx context.Context, id string, from, to doc.Rev) ([]doc.Sequenced, error) {
	if !ValidDocID(id) {
		return nil, ErrBadDocID
	}
	return m.cfg.Store.Ops(ctx, id, from, to)
}
