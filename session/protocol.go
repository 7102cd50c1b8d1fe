package session

import (
	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// ProtocolVersion is the version of the wire protocol that this server
// speaks, sent by clients in hello.
const ProtocolVersion = 1

// The wire protocol: one WebSocket per client and document, binary frames,
// each one msgpack map with a "t" key naming its type. PROTOCOL.md beside
// this file documents every message, field, error code and close code, and
// the reconnect algorithm. The Go types below are the decoded messages.

// Message types, the value of "t".
const (
	TypeHello    = "hello"
	TypeWelcome  = "welcome"
	TypeOp       = "op"
	TypeAck      = "ack"
	TypePresence = "presence"
	TypeLeave    = "leave"
	TypeError    = "error"
	TypeAuth     = "auth"
	TypeAuthed   = "authed"
)

// Hello is the first message of every connection, from the client.
type Hello struct {
	Version int     // ProtocolVersion
	Client  string  // random id a browser tab keeps across reconnects
	Rev     doc.Rev // the last revision the client has; -1 for none
	Epoch   string  // the epoch of that revision; "" for none
	Pending uint64  // the seq of the client's oldest unacknowledged op; 0 for none
	Token   string  // credentials, if any
	Name    string  // the user's display name
	Color   string  // the user's colour, "#rrggbb"
}

// Welcome answers hello.
type Welcome struct {
	Epoch string  // the document's epoch
	Rev   doc.Rev // its current revision
	// Either Ops holds every op after the client's revision up to Rev, or
	// Snapshot holds the content at Rev (when the client has no revision,
	// another epoch, or one too old to catch up from).
	Ops      []Remote
	Snapshot *ot.Delta
	// Reset is set when the client's revision belongs to another epoch or
	// can no longer be caught up: it must reload from Snapshot and rebase
	// its pending ops, or offer them back to the user.
	Reset    bool
	Seq      uint64     // the highest seq applied for this client id; 0 for none
	Presence []Presence // everyone else here
	Access   string     // AccessEdit or AccessView
}

// What a connection may do, in Welcome.Access.
const (
	AccessEdit = "edit"
	AccessView = "view"
)

// Submit is an op from a client: made on revision Base, its Seq-th change.
type Submit struct {
	Seq   uint64
	Base  doc.Rev
	Delta ot.Delta
}

// Ack tells a client that its op Seq became revision Rev.
type Ack struct {
	Seq uint64
	Rev doc.Rev
}

// Remote is a sequenced op sent to the clients: revision Rev, made by
// client Client as its Seq-th change.
type Remote struct {
	Rev    doc.Rev
	Delta  ot.Delta
	Client string
	Seq    uint64
	Author string
}

// Selection is a cursor or selection: Length units from Index.
type Selection struct {
	Index  int
	Length int
}

// Transform returns the selection moved through op d: each end moves as a
// position, and a selection whose text d deleted collapses.
func (s *Selection) Transform(d ot.Delta) *Selection {
	start := d.TransformPosition(s.Index, false)
	end := d.TransformPosition(s.Index+s.Length, false)
	return &Selection{Index: start, Length: max(end-start, 0)}
}

// SetPresence is a client's own selection, or nil when it has none (the
// editor lost focus).
type SetPresence struct {
	Sel *Selection
}

// Presence is someone's selection, with who they are.
type Presence struct {
	Client string
	Name   string
	Color  string
	Sel    *Selection
}

// Leave says that a client left.
type Leave struct {
	Client string
}

// Auth replaces the connection's token with a fresh one, before the old
// one expires: a client refreshes in band instead of reconnecting.
type Auth struct {
	Token string
}

// Authed answers Auth: the new token is in force until Exp, in Unix
// seconds (the moment the server stops accepting it, leeway included).
type Authed struct {
	Exp int64
}

// Error reports a refused message. Seq names the op it concerns, if any.
type Error struct {
	Code string
	Msg  string
	Seq  uint64
}

// Error codes, in Error.Code.
const (
	CodeBadFrame     = "bad_frame"            // not a msgpack map, or over a size or depth limit
	CodeBadMessage   = "bad_message"          // a field missing, of the wrong type or out of range
	CodeUnknownType  = "unknown_type"         // "t" names no message a client may send
	CodeNotHello     = "not_hello"            // a message before hello, or hello twice
	CodeUnauthorized = "unauthorized"         // the token is missing or refused
	CodeVersion      = "version"              // a protocol version the server does not speak
	CodeBadDelta     = "bad_delta"            // the delta is malformed
	CodeDoesNotFit   = "does_not_fit"         // the delta is longer than the document, or splits a character
	CodeFutureRev    = "future_rev"           // the base revision is ahead of the document
	CodeSeqConflict  = "seq_conflict"         // the seq was applied already with another op
	CodeSeqOld       = "seq_old"              // the seq is below the last one applied
	CodeReadOnly     = "read_only"            // the connection may not edit or show presence
	CodeTooLarge     = "too_large"            // the delta or the document would exceed a limit
	CodeUnavailable  = "unavailable"          // the document cannot be read from the store
	CodeInternal     = "internal"             // the server failed; the op was not applied
	CodeBadDocID     = "bad_doc_id"           // the document id is not valid
	CodeNotFound     = "not_found"            // no such document
	CodeRateLimited  = "rate_limited"         // too many messages
	CodeTooManyConns = "too_many_connections" // the server, the user or the address has too many connections
	CodeShuttingDown = "shutting_down"        // the server is going away
	CodeTokenExpired = "token_expired"        // the connection's token expired
	CodeRevoked      = "revoked"              // an admin revoked the user or the session
	CodeAccessChange = "access_changed"       // a refreshed token grants other access: reconnect with it
)

// WebSocket close codes. A client reconnects after CloseGoingAway,
// CloseTooSlow, CloseResync and CloseInternal; after the others it must not
// retry without a change (a fix, new credentials).
const (
	CloseNormal       = 1000 // the client or server ended the session
	CloseGoingAway    = 1001 // the server is shutting down: reconnect with backoff
	CloseInternal     = 1011 // the server failed: reconnect with backoff
	CloseProtocol     = 4000 // a protocol violation: do not reconnect unchanged
	CloseUnauthorized = 4001 // credentials missing or refused
	CloseHelloTimeout = 4002 // no hello within the deadline
	CloseNotFound     = 4004 // the document does not exist or was deleted
	CloseTooSlow      = 4008 // the client did not read its messages: reconnect and catch up
	CloseResync       = 4009 // the client must reconnect and catch up (or reload)
	CloseUnavailable  = 4010 // the document cannot be read from the store
	CloseTokenExpired = 4011 // the token expired: get a new one and reconnect
	CloseRevoked      = 4012 // an admin revoked the user or the session
	CloseRateLimited  = 4029 // the client sent far more than its rate: reconnect with backoff
)
