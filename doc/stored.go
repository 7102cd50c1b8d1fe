package doc

import (
	"fmt"
	"time"

	"github.com/cowrite/cowrite/ot"
)

// Meta describes a stored document.
type Meta struct {
	ID      string
	Epoch   string // random id fixed at creation, changed when history is replaced
	Title   string
	Created time.Time
	Updated time.Time
	Rev     Rev // the latest revision
}

// Stored is what a store holds of a document, enough to open it: the
// newest snapshot, the ops after it, and the last op applied per client.
type Stored struct {
	Meta        Meta
	SnapshotRev Rev
	Snapshot    ot.Delta    // the content at SnapshotRev
	Ops         []Sequenced // the ops after SnapshotRev, in order
	Clients     map[string]ClientState
}

// Load returns the document that s describes: its snapshot with the ops
// after it replayed and its client records set. It fails with ErrHistory,
// or an error wrapping ot's sentinels, when the records do not fit
// together; it never returns a document that differs from what was stored.
func Load(s Stored, opts Options) (*Document, error) {
	d, err := Restore(s.Meta.Epoch, s.SnapshotRev, s.Snapshot, opts)
	if err != nil {
		return nil, err
	}
	for _, op := range s.Ops {
		if err := d.Replay(op); err != nil {
			return nil, err
		}
	}
	if d.rev != s.Meta.Rev {
		return nil, fmt.Errorf("%w: log ends at revision %d, metadata says %d", ErrHistory, d.rev, s.Meta.Rev)
	}
	for id, cs := range s.Clients {
		if cs.Rev > d.rev {
			return nil, fmt.Errorf("%w: client %q applied at revision %d, after the log's end %d", ErrHistory, id, cs.Rev, d.rev)
		}
		if old, ok := d.clients[id]; !ok || old.Seq < cs.Seq {
			d.clients[id] = cs
		}
	}
	return d, nil
}
