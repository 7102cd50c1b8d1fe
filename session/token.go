package session

import (
	"time"

	"github.com/cowrite/cowrite/session/auth"
)

// A connection opened with a token lives as long as the token: it is
// closed with CloseTokenExpired at the token's deadline unless the client
// sends a fresh token (Auth) first, and with CloseRevoked as soon as an
// admin revokes its user or session. The manager keeps every connection
// that holds a token in Manager.tokens for the revocation sweep.

// watchToken makes id the connection's identity and arms the expiry timer
// for its deadline.
func (p *Peer) watchToken(id *auth.Identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.identity; old != nil && old.Session != "" && old.Session != id.Session {
		// Revoking the session a connection began with still ends it.
		// A new slice: revoked reads the old one without the lock.
		keep := p.sessions[max(0, len(p.sessions)-maxHeldSessions+1):]
		p.sessions = append(append(make([]string, 0, len(keep)+1), keep...), old.Session)
	}
	p.identity = id
	if p.expiry != nil {
		p.expiry.Stop()
	}
	p.expiry = time.AfterFunc(time.Until(id.Deadline), func() { p.checkExpiry() })
}

func (p *Peer) stopExpiry() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.expiry != nil {
		p.expiry.Stop()
	}
}

// checkExpiry closes the connection if its token has expired; it reports
// whether it did.
func (p *Peer) checkExpiry() bool {
	p.mu.Lock()
	id := p.identity
	p.mu.Unlock()
	if id == nil || time.Now().Before(id.Deadline) {
		return false
	}
	p.closeWith(CodeTokenExpired, "the token expired; reconnect with a new one", CloseTokenExpired)
	return true
}

// refresh handles Auth: the new token must name the same user and give
// the same access to the document.
func (p *Peer) refresh(a *Auth, mem *member) {
	v := p.m.cfg.Verifier
	if v == nil {
		p.send(&Authed{}) // open mode: there is no token to refresh
		return
	}
	id, err := v.Verify(a.Token)
	if err != nil {
		p.closeWith(CodeUnauthorized, "token refused", CloseUnauthorized)
		return
	}
	p.mu.Lock()
	old := p.identity
	p.mu.Unlock()
	if old == nil || id.User != old.User {
		p.closeWith(CodeUnauthorized, "the new token is another user's", CloseUnauthorized)
		return
	}
	role := id.Role(p.docID)
	switch {
	case !role.Allows(auth.RoleView):
		p.notFound()
		return
	case role.Allows(auth.RoleEdit) != (mem.access == AccessEdit):
		p.closeWith(CodeAccessChange, "the new token gives other access to this document; reconnect with it", CloseResync)
		return
	}
	p.watchToken(id)
	if p.revoked(v) {
		// Revoked while we were verifying: the sweep saw the old token.
		p.closeRevoked()
		return
	}
	p.send(&Authed{Exp: min(id.Deadline.Unix(), maxSafe)}) // a far exp still fits the field
}

// trackToken adds p to the connections the revocation sweep checks.
func (m *Manager) trackToken(p *Peer) {
	m.usersMu.Lock()
	defer m.usersMu.Unlock()
	if m.tokens == nil {
		m.tokens = map[*Peer]struct{}{}
	}
	m.tokens[p] = struct{}{}
}

func (m *Manager) untrackToken(p *Peer) {
	m.usersMu.Lock()
	defer m.usersMu.Unlock()
	delete(m.tokens, p)
}

// CloseRevoked closes, with CodeRevoked and CloseRevoked, every
// connection whose token the verifier now refuses as revoked, and returns
// how many it closed. Call it after adding revocations to the verifier.
func (m *Manager) CloseRevoked() int {
	v := m.cfg.Verifier
	if v == nil {
		return 0
	}
	m.usersMu.Lock()
	var hit []*Peer
	for p := range m.tokens {
		if p.revoked(v) {
			hit = append(hit, p)
		}
	}
	m.usersMu.Unlock()
	for _, p := range hit {
		p.closeRevoked()
	}
	return len(hit)
}

func (p *Peer) closeRevoked() {
	p.closeWith(CodeRevoked, "an admin revoked this user or session", CloseRevoked)
}

// maxHeldSessions bounds the earlier sessions a connection remembers.
const maxHeldSessions = 8

// revoked reports whether the connection's token, or a session it held
// before a refresh, is revoked.
func (p *Peer) revoked(v *auth.Verifier) bool {
	p.mu.Lock()
	id, held := p.identity, p.sessions
	p.mu.Unlock()
	if v.Revoked(id) {
		return true
	}
	for _, s := range held {
		if v.Revoked(&auth.Identity{User: id.User, Session: s, IssuedAt: id.IssuedAt}) {
			return true
		}
	}
	return false
}
