package session

import (
	"context"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// Store is the durable storage a Manager needs. persist.Store satisfies it.
// Every method is safe for concurrent use. Errors that callers act on wrap
// doc's sentinels: doc.ErrNotFound, doc.ErrExists, doc.ErrRevTaken and
// doc.ErrCorrupt.
type Store interface {
	// Create makes a new document with the given metadata (ID and Epoch
	// set, Rev 0) and initial content, stored as a snapshot at revision 0.
	// It fails with doc.ErrExists when the id is taken.
	Create(ctx context.Context, meta doc.Meta, initial ot.Delta) error

	// Load returns what is stored of a document: its newest snapshot, the
	// ops after it and its client records. It fails with doc.ErrNotFound
	// or doc.ErrCorrupt.
	Load(ctx context.Context, id string) (doc.Stored, error)

	// Append durably adds ops to a document's log, with the client records
	// they imply, in one atomic write. prev is the revision the caller
	// expects the log to end at; ops must be prev+1, prev+2, ... When the
	// log has moved past prev it fails with doc.ErrRevTaken and writes
	// nothing. When Append returns nil the ops are on disk (or, with sync
	// turned off, in the operating system's hands). Appends from many
	// documents that arrive together share one commit.
	Append(ctx context.Context, id string, prev doc.Rev, ops []doc.Sequenced) error

	// Ops returns the ops with from < rev <= to, in order. It fails with
	// doc.ErrNotFound when the document does not exist or those ops are no
	// longer kept.
	Ops(ctx context.Context, id string, from, to doc.Rev) ([]doc.Sequenced, error)

	// SaveSnapshot stores a document's content at revision rev.
	SaveSnapshot(ctx context.Context, id string, rev doc.Rev, content ot.Delta) error

	// At returns a document's content at revision rev, built from the newest
	// snapshot at or below rev and the ops after it.
	At(ctx context.Context, id string, rev doc.Rev) (ot.Delta, error)

	// Meta returns a document's metadata.
	Meta(ctx context.Context, id string) (doc.Meta, error)

	// List returns every document's metadata, ordered by id.
	List(ctx context.Context) ([]doc.Meta, error)

	// Delete removes a document and all its records.
	Delete(ctx context.Context, id string) error
}
