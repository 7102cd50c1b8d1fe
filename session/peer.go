package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/session/auth"
)

// A Peer is one client's session: it waits for hello, joins the room and
// hands it the client's messages. Receive and Closed are called by the
// transport; Receive calls come one at a time, in the order the frames
// arrived.
type Peer struct {
	m     *Manager
	docID string
	conn  Conn

	helloTimer *time.Timer

	// Used by Receive only, made at the first op, presence or auth (take).
	ops, presence, auths *limiter

	// presMu serializes presence posts; held, it guards the fields below.
	presMu      sync.Mutex
	pendingSel  *Selection // the latest presence held back by the rate
	pendingSet  bool
	presenceDue *time.Timer // posts pendingSel; nil when none is waiting

	// mu guards the fields below.
	mu     sync.Mutex
	state  peerState
	room   *room
	member *member
	user   string // counted in Manager.users; "" when not

	identity *auth.Identity // the token's, in token mode; replaced by Auth
	sessions []string       // sessions of the tokens Auth replaced, latest last
	expiry   *time.Timer    // fires at identity's deadline
}

type peerState int

const (
	awaitingHello peerState = iota
	joining
	joined
	gone
)

// Receive handles one frame from the client. It may block while the room
// is busy, which slows the client's reads: backpressure, not loss.
func (p *Peer) Receive(frame []byte) {
	p.mu.Lock()
	state, r, mem := p.state, p.room, p.member
	p.mu.Unlock()
	if state == gone {
		return
	}
	if state == joined && p.checkExpiry() {
		return // the expiry timer may not have fired yet
	}
	msg, err := DecodeClient(frame)
	if err != nil {
		pe := &ProtocolError{Code: CodeBadFrame, Msg: err.Error()}
		errors.As(err, &pe)
		if state != joined || pe.Code == CodeBadFrame || pe.Code == CodeUnknownType {
			p.fail(pe.Code, pe.Msg)
			return
		}
		// A well-formed frame with a bad field is refused, and the
		// session goes on, at the op rate: a refusal costs the server
		// as much as an op.
		if _, flood := take(&p.ops, p.m.cfg.OpRate); flood {
			p.closeWith(CodeRateLimited, "far too many refused messages; reconnect later", CloseRateLimited)
			return
		}
		if pe.Seq > 0 { // an op, refused after its seq was read
			p.m.cfg.Metrics.OpRejected(pe.Code)
		}
		p.sendError(pe.Code, pe.Msg, pe.Seq)
		return
	}
	switch msg := msg.(type) {
	case *Hello:
		if state != awaitingHello {
			p.fail(CodeNotHello, "hello sent twice")
			return
		}
		p.hello(msg)
	case *Submit:
		if state != joined {
			p.fail(CodeNotHello, "op before hello")
			return
		}
		if ok, flood := take(&p.ops, p.m.cfg.OpRate); flood {
			p.m.cfg.Metrics.OpRejected(CodeRateLimited)
			p.closeWith(CodeRateLimited, "far too many ops; reconnect later", CloseRateLimited)
			return
		} else if !ok {
			p.m.cfg.Metrics.OpRejected(CodeRateLimited)
			p.sendError(CodeRateLimited, "too many ops; resend this one later", msg.Seq)
			return
		}
		if why := p.m.tooLarge(msg.Delta); why != "" {
			p.m.cfg.Metrics.OpRejected(CodeTooLarge)
			p.sendError(CodeTooLarge, why, msg.Seq)
			return
		}
		if !r.post(context.Background(), event{kind: evOp, member: mem, submit: *msg}) {
			p.closeWith(CodeUnavailable, "the document closed", CloseResync)
		}
	case *SetPresence:
		if state != joined {
			p.fail(CodeNotHello, "presence before hello")
			return
		}
		// Readers are held to the rate too, refused or not.
		ok, flood := take(&p.presence, p.m.cfg.PresenceRate)
		if flood {
			p.closeWith(CodeRateLimited, "far too many presence updates; reconnect later", CloseRateLimited)
			return
		}
		if mem.access != AccessEdit {
			// A view-only user is not shown to the others at all.
			p.sendError(CodeReadOnly, "this connection may not show presence", 0)
			return
		}
		p.setPresence(r, mem, msg.Sel, ok)
	case *Auth:
		if state != joined {
			p.fail(CodeNotHello, "auth before hello")
			return
		}
		if ok, flood := take(&p.auths, authRate); flood {
			p.closeWith(CodeRateLimited, "far too many token refreshes; reconnect later", CloseRateLimited)
			return
		} else if !ok {
			p.sendError(CodeRateLimited, "too many token refreshes; send the next one later", 0)
			return
		}
		p.refresh(msg, mem)
	default:
		p.fail(CodeUnknownType, "not a message a client sends")
	}
}

// take takes a message from the limiter at *l, made at perSec a second at
// the first message.
func take(l **limiter, perSec int) (ok, flood bool) {
	if *l == nil {
		*l = newLimiter(perSec)
	}
	return (*l).allow()
}

// Joined reports whether the client's hello was accepted: until then the
// transport need read no frame larger than a hello.
func (p *Peer) Joined() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == joined
}

// setPresence hands a presence update to the room, or, over the presence
// rate (ok false), holds it back to post the latest one a little later.
func (p *Peer) setPresence(r *room, mem *member, sel *Selection, ok bool) {
	p.presMu.Lock()
	if !ok || p.presenceDue != nil {
		// Coalesced: only the latest waiting update is posted. A pending
		// post that finds the connection gone does nothing.
		p.pendingSel, p.pendingSet = sel, true
		if p.presenceDue == nil {
			wait := time.Second / time.Duration(p.m.cfg.PresenceRate)
			p.presenceDue = time.AfterFunc(wait, func() { p.postPending(r, mem) })
		}
		p.presMu.Unlock()
		return
	}
	posted := r.post(context.Background(), event{kind: evPresence, member: mem, sel: sel})
	p.presMu.Unlock()
	if !posted {
		p.closeWith(CodeUnavailable, "the document closed", CloseResync)
	}
}

// postPending posts the presence update held back by the rate.
func (p *Peer) postPending(r *room, mem *member) {
	p.presMu.Lock()
	defer p.presMu.Unlock()
	sel, set := p.pendingSel, p.pendingSet
	p.pendingSel, p.pendingSet, p.presenceDue = nil, false, nil
	p.mu.Lock()
	joined := p.state == joined && p.room == r
	p.mu.Unlock()
	if set && joined {
		r.post(context.Background(), event{kind: evPresence, member: mem, sel: sel})
	}
}

func (p *Peer) hello(h *Hello) {
	p.helloTimer.Stop()
	if h.Version != ProtocolVersion {
		p.fail(CodeVersion, "this server speaks protocol version 1")
		return
	}
	if !ValidDocID(p.docID) {
		p.closeWith(CodeBadDocID, "invalid document id", CloseNotFound)
		return
	}
	access, user := AccessEdit, ""
	if v := p.m.cfg.Verifier; v != nil {
		id, err := v.Verify(h.Token)
		if err != nil {
			p.closeWith(CodeUnauthorized, "token missing or refused", CloseUnauthorized)
			return
		}
		role := id.Role(p.docID)
		if !role.Allows(auth.RoleView) {
			// The same answer as a missing document, so that no one can
			// probe which documents exist.
			p.notFound()
			return
		}
		if !role.Allows(auth.RoleEdit) {
			access = AccessView
		}
		// Who this is comes from the token, whatever hello says.
		h.Name, h.Color, user = id.Name, id.Color, id.User
		if ok, _ := p.m.joins.Take(user, time.Now()); !ok {
			p.closeWith(CodeRateLimited, "this user joins too often; reconnect later", CloseRateLimited)
			return
		}
		if !p.m.takeUser(user) {
			p.closeWith(CodeTooManyConns, "this user has too many connections", CloseRateLimited)
			return
		}
		p.m.trackToken(p)
		p.watchToken(id)
		p.mu.Lock()
		p.user = user
		gone := p.state == gone
		p.mu.Unlock()
		if gone { // closed while verifying: Closed did not see the count
			p.releaseUser()
			p.stopExpiry()
			return
		}
		if v.Revoked(id) { // revoked while we were verifying
			p.closeRevoked()
			return
		}
	}
	p.mu.Lock()
	p.state = joining
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), p.m.cfg.HelloTimeout)
	defer cancel()
	if access == AccessEdit {
		if err := p.m.ensure(ctx, p.docID); err != nil {
			p.storeFailed(err)
			return
		}
	} else if _, err := p.m.cfg.Store.Meta(ctx, p.docID); err != nil {
		// A reader cannot create the document by opening it.
		if errors.Is(err, doc.ErrNotFound) {
			p.notFound()
		} else {
			p.storeFailed(err)
		}
		return
	}
	r, err := p.m.acquire(p.docID)
	if err != nil {
		p.closeWith(CodeShuttingDown, "server shutting down", CloseGoingAway)
		return
	}
	mem := &member{peer: p, hello: *h, access: access, user: user}
	p.mu.Lock()
	if p.state == gone {
		// The connection closed while we were joining.
		p.mu.Unlock()
		p.m.release(r)
		return
	}
	p.state, p.room, p.member = joined, r, mem
	p.mu.Unlock()
	if !r.post(ctx, event{kind: evJoin, member: mem}) {
		if ctx.Err() != nil {
			// The room is too busy to take a join in time; it goes on.
			p.closeWith(CodeUnavailable, "the document is busy; reconnect", CloseResync)
			return
		}
		p.storeFailed(r.failure())
	}
}

func (p *Peer) notFound() {
	p.closeWith(CodeNotFound, "no such document", CloseNotFound)
}

func (p *Peer) storeFailed(err error) {
	p.m.cfg.Logger.Error().Err(err).Str("doc", p.docID).Msg("open document")
	p.closeWith(CodeUnavailable, "the document cannot be opened", CloseUnavailable)
}

func (p *Peer) helloTimeout() {
	p.mu.Lock()
	waiting := p.state == awaitingHello
	p.mu.Unlock()
	if waiting {
		p.closeWith(CodeNotHello, "no hello in time", CloseHelloTimeout)
	}
}

// fail refuses a protocol violation and closes the connection.
func (p *Peer) fail(code, msg string) { p.closeWith(code, msg, CloseProtocol) }

func (p *Peer) closeWith(code, msg string, closeCode int) {
	p.refuse(code, msg, closeCode)
	p.Closed()
}

// refuse tells the client why and closes its connection; the transport
// then calls Closed. Rooms call it rather than closeWith, which would post
// to the room itself.
func (p *Peer) refuse(code, msg string, closeCode int) {
	p.sendError(code, msg, 0)
	p.conn.Close(closeCode, msg)
}

func (p *Peer) sendError(code, msg string, seq uint64) {
	p.send(&Error{Code: code, Msg: msg, Seq: seq})
}

func (p *Peer) send(msg any) {
	if frame, err := Encode(msg); err == nil {
		_ = p.conn.Send(frame) // the connection may be closing; nothing to add
	}
}

// releaseUser gives back the connection counted for the token's user.
func (p *Peer) releaseUser() {
	p.mu.Lock()
	user := p.user
	p.user = ""
	p.mu.Unlock()
	if user != "" {
		p.m.releaseUser(user)
		p.m.untrackToken(p)
	}
}

// Closed tells the session that the connection ended. It is safe to call
// more than once.
func (p *Peer) Closed() {
	p.helloTimer.Stop()
	p.stopExpiry()
	p.releaseUser()
	p.mu.Lock()
	state, r, mem := p.state, p.room, p.member
	p.state = gone
	p.mu.Unlock()
	if state != gone {
		p.m.cfg.Metrics.ConnClosed()
	}
	if state == joined {
		r.post(context.Background(), event{kind: evLeave, member: mem})
		p.m.release(r)
	}
}
