package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrRevoked is returned by Verify for a token of a revoked user or
// session. It wraps ErrInvalid.
var ErrRevoked = fmt.Errorf("%w: revoked", ErrInvalid)

// Revocations is the set of revoked users and sessions that a Verifier
// consults. Revoking a user refuses every token of theirs issued at or
// before the revocation (a Verifier adds its leeway, for issuers' clocks
// that run ahead), and every token of theirs without iat, so the user gets
// back in with a newer token; revoking a session refuses the
// tokens whose jti is that session. It is safe for concurrent use; the
// zero value is empty and ready.
type Revocations struct {
	mu       sync.RWMutex
	users    map[string]time.Time // user → the revocation's time
	sessions map[string]time.Time // jti → the revocation's time
}

// RevokeUser revokes user's tokens issued at or before at. A later
// revocation of the same user replaces an earlier one.
func (r *Revocations) RevokeUser(user string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.users == nil {
		r.users = map[string]time.Time{}
	}
	if prev, ok := r.users[user]; !ok || at.After(prev) {
		r.users[user] = at
	}
}

// RevokeSession revokes the tokens whose jti is session.
func (r *Revocations) RevokeSession(session string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions == nil {
		r.sessions = map[string]time.Time{}
	}
	if _, ok := r.sessions[session]; !ok {
		r.sessions[session] = at
	}
}

// Revoked reports whether id's token is revoked. A nil Revocations
// revokes nothing.
func (r *Revocations) Revoked(id *Identity) bool { return r.revoked(id, 0) }

// revoked is Revoked for tokens from issuers whose clocks may be skew
// ahead: a user's tokens issued up to skew after the revocation are
// refused too, so that none minted before it passes for a later one.
func (r *Revocations) revoked(id *Identity, skew time.Duration) bool {
	if r == nil || id == nil {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if id.Session != "" {
		if _, ok := r.sessions[id.Session]; ok {
			return true
		}
	}
	at, ok := r.users[id.User]
	// iat has whole seconds: a token issued in the second of the
	// revocation is refused too, never one issued before it let in.
	return ok && !id.IssuedAt.After(at.Add(skew))
}

// ErrBadRevocation is returned by Revocation.Check.
var ErrBadRevocation = errors.New("auth: a revocation names exactly one user or one session, of at most 256 bytes")

// A Revocation is one user's or one session's revocation, as an admin
// asks for it and as it is stored.
type Revocation struct {
	User    string    `json:"user,omitempty"`
	Session string    `json:"session,omitempty"`
	At      time.Time `json:"at"`
}

// Check reports whether rev names exactly one user or one session.
func (rev Revocation) Check() error {
	if (rev.User == "") == (rev.Session == "") || len(rev.User) > 256 || len(rev.Session) > 256 {
		return ErrBadRevocation
	}
	return nil
}

// Add records rev.
func (r *Revocations) Add(rev Revocation) {
	if rev.User != "" {
		r.RevokeUser(rev.User, rev.At)
	}
	if rev.Session != "" {
		r.RevokeSession(rev.Session, rev.At)
	}
}
