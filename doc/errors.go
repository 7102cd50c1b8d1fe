package doc

import "errors"

// Errors of the sequencer step. Errors about the delta itself wrap the ot
// package's sentinels (ot.ErrInvalid, ot.ErrLength, ot.ErrSurrogate).
var (
	// ErrStaleBase reports a base revision older than the window of recent
	// ops: the caller must fetch the missing ops from its store and call
	// SubmitWith.
	ErrStaleBase = errors.New("doc: base revision older than the history window")

	// ErrFutureBase reports a base revision ahead of the document.
	ErrFutureBase = errors.New("doc: base revision ahead of the document")

	// ErrSeqConflict reports a seq that was already applied with a
	// different op.
	ErrSeqConflict = errors.New("doc: seq already applied with a different op")

	// ErrSeqOld reports a seq below the highest one applied for its client:
	// it was applied long ago, and its revision is no longer known.
	ErrSeqOld = errors.New("doc: seq older than the client's last applied op")

	// ErrClient reports a change without a client id, or with seq 0.
	ErrClient = errors.New("doc: change needs a client id and a seq from 1")

	// ErrHistory reports older ops handed to SubmitWith or Replay that do
	// not continue the document's revisions.
	ErrHistory = errors.New("doc: ops do not continue the document's revisions")
)

// Errors of stores, declared here so that the packages above doc can tell
// them apart without importing the store.
var (
	// ErrNotFound reports a document that does not exist.
	ErrNotFound = errors.New("doc: document not found")

	// ErrExists reports a document created twice.
	ErrExists = errors.New("doc: document exists")

	// ErrRevTaken reports an append whose revision is already in the log:
	// somebody else extended it first.
	ErrRevTaken = errors.New("doc: revision already taken")

	// ErrCorrupt reports stored records that cannot be read. The document
	// is unavailable until an operator repairs or restores it; it is never
	// treated as new.
	ErrCorrupt = errors.New("doc: stored document is unreadable")
)
