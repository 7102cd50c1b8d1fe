package auth

import (
	"strings"
	"time"
)

// A Role is what a user may do with a document. The zero Role grants
// nothing.
type Role string

// Roles, weakest first.
const (
	RoleNone  Role = ""
	RoleView  Role = "view"  // read the document and its history
	RoleEdit  Role = "edit"  // also change it, show presence, create it
	RoleAdmin Role = "admin" // also delete it
)

func (r Role) rank() int {
	switch r {
	case RoleView:
		return 1
	case RoleEdit:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether r includes need. Nothing allows RoleNone.
func (r Role) Allows(need Role) bool { return need.rank() > 0 && r.rank() >= need.rank() }

// An Identity is a verified token's user.
type Identity struct {
	User  string // the token's sub
	Name  string // display name; the user id when the token has none
	Color string // "#rrggbb", or "" when the token has none or a bad one

	Session  string    // the token's sid, else its jti: "" when it has neither
	IssuedAt time.Time // the token's iat: zero when it has none
	// Deadline is when the token stops being accepted: its exp plus the
	// verifier's leeway. A connection must not outlive it.
	Deadline time.Time

	docs map[string]any
}

// ServerAdmin reports whether the identity administers the server (may
// revoke users and sessions and take backups): its docs claim maps "*",
// the pattern of every document, to exactly "admin". No other entry and
// no other value counts.
func (id *Identity) ServerAdmin() bool {
	if id == nil {
		return false
	}
	s, ok := id.docs["*"].(string)
	return ok && Role(s) == RoleAdmin
}

// Role returns the identity's role on document id. An exact entry wins;
// otherwise the longest prefix pattern ("team-*") that matches; "*" matches
// every document. The chosen entry's value alone decides: it must be the
// string "view", "edit" or "admin", and anything else grants nothing, even
// when a less specific entry would have granted more.
func (id *Identity) Role(docID string) Role {
	if id == nil {
		return RoleNone
	}
	v, ok := id.docs[docID]
	if !ok {
		best := -1
		for pat, pv := range id.docs {
			prefix, isPat := strings.CutSuffix(pat, "*")
			if !isPat || !strings.HasPrefix(docID, prefix) || len(prefix) <= best {
				continue
			}
			best, v, ok = len(prefix), pv, true
		}
	}
	if !ok {
		return RoleNone
	}
	s, isStr := v.(string)
	if r := Role(s); isStr && r.rank() > 0 {
		return r
	}
	return RoleNone
}

// Can reports whether the identity has at least role need on document id.
func (id *Identity) Can(docID string, need Role) bool { return id.Role(docID).Allows(need) }
