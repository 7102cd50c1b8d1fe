package client

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
)

// Status is where a client stands with the server.
type Status int

// The statuses a client passes through.
const (
	Connecting Status = iota // no welcome yet on the current connection
	Saved                    // connected, nothing unacknowledged
	Saving                   // connected, edits in flight or buffered
	Offline                  // disconnected, waiting to reconnect
	Closed                   // closed by the caller, or refused for good
)

func (s Status) String() string {
	return [...]string{"connecting", "saved", "saving", "offline", "closed"}[s]
}

// ErrClosed reports a call on a closed client.
var ErrClosed = errors.New("client: closed")

// ErrEpochChanged reports that the document's history was replaced (a
// restore): the client reloaded it, and its unsent edits are in Unsent.
var ErrEpochChanged = errors.New("client: document history replaced; unsent edits kept aside")

// ErrRejected reports an op the server refused; it and the edits after it
// are in Unsent.
var ErrRejected = errors.New("client: server refused an op")

// Event tells the caller what happened. Exactly one field is set.
type Event struct {
	Remote   *session.Remote   // a remote op was applied (Delta as applied locally)
	Presence *session.Presence // someone's selection changed
	Leave    string            // a client left
	Status   *Status           // the status changed
	Err      error             // an op was refused, or the history replaced
}

// Options configure a Client.
type Options struct {
	// URL is the document's WebSocket endpoint: ws://host/v1/docs/ID/ws.
	URL string
	// ClientID identifies this client across reconnects. Default: random.
	ClientID string
	// Name and Color describe the user to the others.
	Name, Color string
	// Token is sent as credentials in hello.
	Token string
	// Header is sent with every WebSocket handshake (for example Origin).
	Header http.Header
	// MinBackoff is the first reconnect delay's upper bound; the delay
	// doubles per failed attempt up to MaxBackoff, and each is drawn at
	// random below the bound (full jitter). Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// OnEvent, if set, receives events on the client's goroutine.
	OnEvent func(Event)
}

type inflight struct {
	seq   uint64
	base  doc.Rev
	sent  ot.Delta // as first sent: resends must be identical
	delta ot.Delta // transformed over what arrived since
}

// A Client edits one document live.
type Client struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards everything below, and frames are written under it so that
	// ops leave in seq order.
	mu        sync.Mutex
	ws        *websocket.Conn // nil while disconnected or before welcome
	confirmed *doc.Content    // the document at rev, as the server has it
	local     *doc.Content    // confirmed with the pending edits applied
	rev       doc.Rev
	epoch     string
	loaded    bool
	seq       uint64
	flight    *inflight
	buffer    ot.Delta
	status    Status
	sel       *session.Selection
	others    map[string]session.Presence
	unsent    []ot.Delta
	access    string
	lastErr   error
	changed   chan struct{} // closed and replaced on every change
	events    []Event       // to deliver outside mu
}

// Dial connects to a document and returns once the first welcome arrived,
// or ctx ended. The client then runs until Close.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if opts.ClientID == "" {
		opts.ClientID = crand.Text()[:16]
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	c := &Client{
		opts:      opts,
		done:      make(chan struct{}),
		confirmed: doc.NewContent(),
		local:     doc.NewContent(),
		rev:       -1,
		others:    map[string]session.Presence{},
		changed:   make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	err := c.wait(ctx, func() bool { return c.loaded || c.status == Closed })
	if err == nil && !c.loaded {
		err = c.lastErr
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// ID returns the client id.
func (c *Client) ID() string { return c.opts.ClientID }

// Close disconnects and stops reconnecting. Unsent edits stay unsent.
func (c *Client) Close() error {
	c.cancel()
	c.mu.Lock()
	if c.ws != nil {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.ws.Close()
	}
	c.mu.Unlock()
	<-c.done
	return nil
}

// Submit applies a local edit to the document and sends it, or buffers it
// while an op is in flight or the connection is down. It fails when the
// edit does not fit the document.
func (c *Client) Submit(change ot.Delta) error {
	if err := change.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.flush()
	if c.status == Closed {
		return ErrClosed
	}
	if err := c.local.Apply(change); err != nil {
		return err
	}
	c.moveOthers(change)
	if c.flight == nil && c.ws != nil {
		c.sendOp(change)
	} else {
		buffer, err := c.buffer.Compose(change)
		if err != nil {
			return err
		}
		c.buffer = buffer
	}
	c.setStatus()
	return nil
}

// SetPresence sets this client's selection, or clears it with nil.
func (c *Client) SetPresence(sel *session.Selection) {
	c.mu.Lock()
	defer c.flush()
	c.sel = sel
	if c.ws != nil {
		c.write(&session.SetPresence{Sel: sel})
	}
}

// Text returns the local document's text.
func (c *Client) Text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local.Text()
}

// Delta returns the local document.
func (c *Client) Delta() ot.Delta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local.Delta()
}

// Len returns the local document's length in UTF-16 units.
func (c *Client) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local.Len()
}

// Rev returns the last revision the client has from the server.
func (c *Client) Rev() doc.Rev {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// Status returns the current status.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Others returns everyone else's presence.
func (c *Client) Others() map[string]session.Presence {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]session.Presence, len(c.others))
	for k, v := range c.others {
		out[k] = v
	}
	return out
}

// Unsent returns the edits set aside after an epoch change or a refused op.
func (c *Client) Unsent() []ot.Delta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ot.Delta(nil), c.unsent...)
}

// Pending reports whether edits wait for acknowledgement.
func (c *Client) Pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flight != nil || len(c.buffer.Ops) > 0
}

// WaitSynced waits until every edit is acknowledged and the client is
// connected, or ctx ends.
func (c *Client) WaitSynced(ctx context.Context) error {
	return c.wait(ctx, func() bool { return c.status == Saved || c.status == Closed })
}

// WaitRev waits until the client has revision rev or later.
func (c *Client) WaitRev(ctx context.Context, rev doc.Rev) error {
	return c.wait(ctx, func() bool { return c.rev >= rev || c.status == Closed })
}

// wait waits until cond, called under mu, holds.
func (c *Client) wait(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, ch := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// flush unlocks mu, then delivers queued events and wakes waiters.
func (c *Client) flush() {
	events := c.events
	c.events = nil
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if c.opts.OnEvent != nil {
		for _, e := range events {
			c.opts.OnEvent(e)
		}
	}
}

// end closes the client for good and tells OnEvent; c.mu is held, and
// released.
func (c *Client) end() {
	c.status = Closed
	s := Closed
	c.emit(Event{Status: &s})
	c.flush()
}

func (c *Client) emit(e Event) {
	if c.opts.OnEvent != nil {
		c.events = append(c.events, e)
	}
}

func (c *Client) setStatus() {
	s := Saved
	switch {
	case c.status == Closed:
		return
	case c.ws == nil && c.loaded:
		s = Offline
	case c.ws == nil:
		s = Connecting
	case c.flight != nil || len(c.buffer.Ops) > 0:
		s = Saving
	}
	if s != c.status {
		c.status = s
		c.emit(Event{Status: &s})
	}
}

// sendOp sends delta as the next op. Called with mu held and connected.
func (c *Client) sendOp(delta ot.Delta) {
	c.seq++
	c.flight = &inflight{seq: c.seq, base: c.rev, sent: delta, delta: delta}
	c.write(&session.Submit{Seq: c.seq, Base: c.rev, Delta: delta})
}

// write sends a message; a failed write ends the connection, and the read
// loop notices.
func (c *Client) write(msg any) {
	frame, err := session.Encode(msg)
	if err != nil {
		c.lastErr = err
		return
	}
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		c.ws.Close()
	}
}

// permanent reports close codes after which reconnecting cannot help.
func permanent(err error) bool {
	switch closeCode(err) {
	case session.CloseProtocol, session.CloseUnauthorized, session.CloseNotFound,
		session.CloseTokenExpired, session.CloseRevoked: // the same token would be refused again
		return true
	}
	return false
}

// closeCode returns the close code that ended a connection, or 0.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

func (c *Client) run() {
	defer close(c.done)
	attempt := 0
	for {
		welcomed, err := c.connect()
		c.mu.Lock()
		c.ws = nil
		if err != nil {
			c.lastErr = err
		}
		if closeCode(err) == websocket.CloseMessageTooBig && c.flight != nil {
			// The op in flight is over the server's frame limit: sent
			// again, it would be refused again.
			c.setAside(fmt.Errorf("%w: the edit is larger than the server accepts", ErrRejected))
		}
		if c.ctx.Err() != nil || permanent(err) {
			c.end()
			return
		}
		c.setStatus()
		c.flush()
		if welcomed {
			attempt = 0
		}
		bound := c.opts.MinBackoff << min(attempt, 30)
		if bound <= 0 || bound > c.opts.MaxBackoff {
			bound = c.opts.MaxBackoff
		}
		attempt++
		// Full jitter, never zero: a crowd of clients cut off at once does
		// not come back at once.
		delay := time.Duration(rand.Int64N(int64(bound))) + time.Millisecond
		select {
		case <-time.After(delay):
		case <-c.ctx.Done():
			c.mu.Lock()
			c.end()
			return
		}
	}
}

// connect runs one connection: hello, welcome, then messages until it
// ends. It reports whether a welcome arrived.
func (c *Client) connect() (bool, error) {
	dctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	ws, _, err := websocket.DefaultDialer.DialContext(dctx, c.opts.URL, c.opts.Header)
	cancel()
	if err != nil {
		return false, err
	}
	defer ws.Close()
	ws.SetReadLimit(64 << 20)

	c.mu.Lock()
	h := &session.Hello{Version: session.ProtocolVersion, Client: c.opts.ClientID, Rev: c.rev, Epoch: c.epoch,
		Token: c.opts.Token, Name: c.opts.Name, Color: c.opts.Color}
	if !c.loaded {
		h.Rev, h.Epoch = -1, ""
	}
	if c.flight != nil {
		h.Pending = c.flight.seq
	}
	c.mu.Unlock()
	frame, err := session.Encode(h)
	if err != nil {
		return false, err
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		return false, err
	}
	// Closing the socket when the client closes ends the read below.
	stop := context.AfterFunc(c.ctx, func() { ws.Close() })
	defer stop()

	welcomed := false
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			return welcomed, err
		}
		msg, err := session.DecodeServer(frame)
		if err != nil {
			return welcomed, fmt.Errorf("decode server frame: %w", err)
		}
		c.mu.Lock()
		switch m := msg.(type) {
		case *session.Welcome:
			if err := c.welcome(ws, m); err != nil {
				c.flush()
				return welcomed, err
			}
			welcomed = true
		case *session.Ack:
			c.ack(m.Seq, m.Rev)
		case *session.Remote:
			err = c.remote(m)
		case *session.Presence:
			c.setOther(m)
			c.emit(Event{Presence: m})
		case *session.Leave:
			delete(c.others, m.Client)
			c.emit(Event{Leave: m.Client})
		case *session.Error:
			c.refused(m)
		}
		c.setStatus()
		c.flush()
		if err != nil {
			return welcomed, err
		}
	}
}

// welcome takes the server's welcome: catches up, then resends. Called
// with mu held.
func (c *Client) welcome(ws *websocket.Conn, w *session.Welcome) error {
	c.access = w.Access
	switch {
	case w.Snapshot != nil && (!c.loaded || c.epoch == "" || w.Epoch != c.epoch):
		if c.loaded {
			c.setAside(ErrEpochChanged)
		}
		if err := c.reload(*w.Snapshot); err != nil {
			return err
		}
	case w.Snapshot != nil:
		if err := c.rebase(*w.Snapshot, w.Seq); err != nil {
			return err
		}
	default:
		for i := range w.Ops {
			if err := c.remote(&w.Ops[i]); err != nil {
				return err
			}
		}
	}
	c.rev, c.epoch, c.loaded = w.Rev, w.Epoch, true
	c.others = map[string]session.Presence{}
	for i := range w.Presence {
		c.setOther(&w.Presence[i])
	}
	c.ws = ws
	switch {
	case c.flight != nil && c.flight.seq <= w.Seq:
		// Applied, but its ack and op were lost with a snapshot: rebase
		// took care of it.
		c.flight = nil
		fallthrough
	case c.flight == nil:
		if len(c.buffer.Ops) > 0 {
			b := c.buffer
			c.buffer = ot.Delta{}
			c.sendOp(b)
		}
	default:
		// Resend exactly as first sent: if the server has it, it answers
		// with the original revision.
		c.write(&session.Submit{Seq: c.flight.seq, Base: c.flight.base, Delta: c.flight.sent})
	}
	if c.sel != nil {
		c.write(&session.SetPresence{Sel: c.sel})
	}
	return nil
}

func (c *Client) reload(snapshot ot.Delta) error {
	content, err := doc.NewContentFrom(snapshot)
	if err != nil {
		return err
	}
	local, _ := doc.NewContentFrom(snapshot)
	c.confirmed, c.local = content, local
	c.flight, c.buffer = nil, ot.Delta{}
	return nil
}

// rebase moves the pending edits onto a snapshot, when the ops in between
// are no longer available: the difference between what the client had and
// the snapshot stands in for them.
func (c *Client) rebase(snapshot ot.Delta, appliedSeq uint64) error {
	base := c.confirmed.Delta()
	var pending ot.Delta
	var err error
	if c.flight != nil && c.flight.seq <= appliedSeq {
		if base, err = ot.Apply(base, c.flight.delta); err != nil {
			return err
		}
		pending = c.buffer
	} else if c.flight != nil {
		if pending, err = c.flight.delta.Compose(c.buffer); err != nil {
			return err
		}
	} else {
		pending = c.buffer
	}
	diff, err := base.Diff(snapshot)
	if err != nil {
		return err
	}
	if pending, err = diff.Transform(pending, true); err != nil {
		return err
	}
	if err := c.reload(snapshot); err != nil {
		return err
	}
	if err := c.local.Apply(pending); err != nil {
		return err
	}
	c.buffer = pending
	return nil
}

// setAside keeps the pending edits for the caller and drops them.
func (c *Client) setAside(reason error) {
	if c.flight != nil {
		c.unsent = append(c.unsent, c.flight.delta)
	}
	if len(c.buffer.Ops) > 0 {
		c.unsent = append(c.unsent, c.buffer)
	}
	c.flight, c.buffer = nil, ot.Delta{}
	c.local, _ = doc.NewContentFrom(c.confirmed.Delta())
	c.emit(Event{Err: reason})
}

func (c *Client) ack(seq uint64, rev doc.Rev) {
	if c.flight == nil || seq != c.flight.seq {
		return
	}
	if err := c.confirmed.Apply(c.flight.delta); err != nil {
		c.lastErr = err
	}
	c.flight, c.rev = nil, rev
	if len(c.buffer.Ops) > 0 && c.ws != nil {
		b := c.buffer
		c.buffer = ot.Delta{}
		c.sendOp(b)
	}
}

// remote applies an op from the server, transforming the pending edits
// over it. The client's own op, met again in a catch-up, is its ack.
func (c *Client) remote(r *session.Remote) error {
	if r.Rev <= c.rev {
		return nil // already have it
	}
	if r.Client == c.opts.ClientID && c.flight != nil && r.Seq == c.flight.seq {
		c.ack(r.Seq, r.Rev)
		return nil
	}
	if err := c.confirmed.Apply(r.Delta); err != nil {
		return fmt.Errorf("apply revision %d: %w", r.Rev, err)
	}
	x := r.Delta
	var err error
	if c.flight != nil {
		a := c.flight.delta
		if c.flight.delta, err = x.Transform(a, true); err != nil {
			return err
		}
		if x, err = a.Transform(x, false); err != nil {
			return err
		}
	}
	if len(c.buffer.Ops) > 0 {
		b := c.buffer
		if c.buffer, err = x.Transform(b, true); err != nil {
			return err
		}
		if x, err = b.Transform(x, false); err != nil {
			return err
		}
	}
	if err := c.local.Apply(x); err != nil {
		return fmt.Errorf("apply revision %d locally: %w", r.Rev, err)
	}
	c.rev = r.Rev
	c.moveOthers(x)
	if c.sel != nil {
		c.sel = c.sel.Transform(x)
	}
	applied := *r
	applied.Delta = x
	c.emit(Event{Remote: &applied})
	return nil
}

// setOther records someone's selection. The server sends it at its
// revision: it is moved through the pending local edits, as the local
// document has them on top. Called with mu held.
func (c *Client) setOther(p *session.Presence) {
	if p.Sel != nil {
		if c.flight != nil {
			p.Sel = p.Sel.Transform(c.flight.delta)
		}
		if len(c.buffer.Ops) > 0 {
			p.Sel = p.Sel.Transform(c.buffer)
		}
	}
	c.others[p.Client] = *p
}

// moveOthers moves everyone's selection through an op applied to the local
// document, local edits included. Called with mu held.
func (c *Client) moveOthers(x ot.Delta) {
	for id, p := range c.others {
		if p.Sel != nil {
			p.Sel = p.Sel.Transform(x)
			c.others[id] = p
		}
	}
}

// refused handles an error from the server. A refused op is dropped with
// the edits after it, which are set aside for the caller.
func (c *Client) refused(e *session.Error) {
	err := fmt.Errorf("%w: %s: %s", ErrRejected, e.Code, e.Msg)
	c.lastErr = err
	if e.Seq != 0 && c.flight != nil && e.Seq == c.flight.seq {
		if e.Code == session.CodeRateLimited || e.Code == session.CodeInternal {
			// Not applied, and not the op's fault: drop the connection, and
			// the reconnect after a backoff resends it as first sent.
			if c.ws != nil {
				c.ws.Close()
			}
			return
		}
		c.setAside(err)
		return
	}
	c.emit(Event{Err: err})
}
