package session

import (
	"errors"

	"github.com/cowrite/cowrite/doc"
)

// ErrShutdown reports a call made after the manager began to close.
var ErrShutdown = errors.New("session: server shutting down")

// ErrBadDocID reports a document id outside the allowed pattern.
var ErrBadDocID = errors.New("session: invalid document id")

// ErrRoomFailed reports a room that stopped because its store failed; the
// op was not applied.
var ErrRoomFailed = errors.New("session: document closed after a store failure")

// ErrTooLarge reports a change that would make the document longer than
// Config.MaxDocLen; it was not applied.
var ErrTooLarge = errors.New("session: the document would exceed its size limit")

// ErrDeltaTooLarge reports a change whose delta has more ops than
// Config.MaxDeltaOps or inserts more text than Config.MaxInsertBytes; it
// was not applied.
var ErrDeltaTooLarge = errors.New("session: the delta exceeds a size limit")

// ErrBadClient reports a change whose client id or seq no WebSocket frame
// could carry (PROTOCOL.md §2): a client id of 1 to 64 characters of
// A-Z a-z 0-9 _ -, a seq of at most 2^53-1. It was not applied.
var ErrBadClient = errors.New("session: client id must be 1 to 64 characters of A-Z a-z 0-9 _ - and seq at most 2^53-1")

// ErrClientInUse reports a change whose client id another token user
// holds in the document; it was not applied.
var ErrClientInUse = errors.New("session: client id in use by another user")

// ValidDocID reports whether id is a valid document id (doc.ValidID).
func ValidDocID(id string) bool { return doc.ValidID(id) }
