package persist

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// Create makes a new document: meta (ID and Epoch set, Rev 0) and a
// snapshot of initial, a document delta, at revision 0. It fails with
// doc.ErrExists when the id is taken (also while an earlier document of
// that id is being deleted and the deletion cannot finish), and with
// doc.ErrCorrupt when records of the id exist without metadata. Create
// waits for a deletion of the id that is under way.
func (s *Store) Create(ctx context.Context, meta doc.Meta, initial ot.Delta) error {
	id := meta.ID
	if !doc.ValidID(id) {
		return fmt.Errorf("create %q: %w", id, ErrInvalidID)
	}
	switch {
	case meta.Rev != 0:
		return fmt.Errorf("create %s: %w: revision %d, want 0", id, ErrInvalid, meta.Rev)
	case meta.Epoch == "":
		return fmt.Errorf("create %s: %w: no epoch", id, ErrInvalid)
	case !initial.IsDocument():
		return fmt.Errorf("create %s: %w: %w", id, ErrInvalid, ot.ErrNotDocument)
	}
	if err := initial.Validate(); err != nil {
		return fmt.Errorf("create %s: %w: %w", id, ErrInvalid, err)
	}
	mb, err := encodeMeta(meta)
	if err != nil {
		return fmt.Errorf("create %s: encode meta: %w", id, err)
	}
	sb, err := encodeSnapshot(0, initial)
	if err != nil {
		return fmt.Errorf("create %s: encode snapshot: %w", id, err)
	}
	if err := s.awaitDeletion(ctx, id); err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	err = s.submit(ctx, &request{ops: -1, apply: func(w *wtxn) (*change, error) {
		txn := w.txn
		switch found, err := exists(txn, metaKey(id)); {
		case err != nil:
			return nil, err
		case found:
			return nil, doc.ErrExists
		}
		switch deleting, err := exists(txn, tombKey(id)); {
		case err != nil:
			return nil, err
		case deleting:
			return nil, fmt.Errorf("%w: an earlier document of this id is being deleted", doc.ErrExists)
		}
		if hasPrefix(txn, recordsPrefix(id)) {
			return nil, corruptf("records of %q exist without its metadata", id)
		}
		ents := []entry{{key: metaKey(id), value: mb}, {key: snapshotKey(id, 0), value: sb}}
		return &change{ents: ents, id: id, forget: true}, nil
	}})
	if err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	return nil
}

// Append adds ops to document id's log, with their client records and the
// metadata's new revision, in one atomic write that is on disk when Append
// returns nil (with Options.NoSync, in the operating system's hands). ops
// must have the revisions prev+1, prev+2, ... and valid deltas. Append
// fails with doc.ErrRevTaken, writing nothing, when the log does not end at
// prev; with doc.ErrNotFound when the document does not exist; with
// ErrTooBig when the ops do not fit in one transaction. Appends to many
// documents that arrive together share one commit. Each client's record
// keeps the highest seq it has seen. The metadata's Updated becomes the
// last op's Time (the current time when that is zero).
//
// When ctx ends before the write is handed to the storage engine, Append
// returns ctx's error and writes nothing; after that, it reports the
// write's true outcome.
func (s *Store) Append(ctx context.Context, id string, prev doc.Rev, ops []doc.Sequenced) error {
	if !doc.ValidID(id) {
		return fmt.Errorf("append %q: %w", id, ErrInvalidID)
	}
	if prev < 0 {
		return fmt.Errorf("append %s@%d: %w: negative revision", id, prev, ErrInvalid)
	}
	ents := make([]entry, 0, len(ops)+2)
	// latest holds, per client, its op with the highest seq.
	latest := map[string]doc.Sequenced{}
	for i, op := range ops {
		if want := prev + 1 + doc.Rev(i); op.Rev != want {
			return fmt.Errorf("append %s@%d: %w: op %d has revision %d, want %d", id, prev, ErrInvalid, i, op.Rev, want)
		}
		if len(op.Client) > maxClientLen {
			return fmt.Errorf("append %s@%d: %w: client id of %d bytes", id, op.Rev, ErrInvalid, len(op.Client))
		}
		if op.Client != "" && op.Seq == 0 {
			return fmt.Errorf("append %s@%d: %w: client %q with seq 0", id, op.Rev, ErrInvalid, op.Client)
		}
		if err := op.Delta.Validate(); err != nil {
			return fmt.Errorf("append %s@%d: %w: %w", id, op.Rev, ErrInvalid, err)
		}
		b, err := encodeOp(op)
		if err != nil {
			return fmt.Errorf("append %s@%d: encode op: %w", id, op.Rev, err)
		}
		ents = append(ents, entry{key: opKey(id, op.Rev), value: b})
		if op.Client != "" {
			if l, ok := latest[op.Client]; !ok || op.Seq >= l.Seq {
				latest[op.Client] = op
			}
		}
	}
	if len(ops) == 0 {
		// Nothing to write, but say whether the log ends at prev.
		m, err := s.Meta(ctx, id)
		if err == nil && m.Rev != prev {
			err = fmt.Errorf("append %s@%d: %w: the log ends at revision %d", id, prev, doc.ErrRevTaken, m.Rev)
		}
		return err
	}
	clients := make([]string, 0, len(latest))
	for c := range latest {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	last := ops[len(ops)-1]
	updated := last.Time
	if updated.IsZero() {
		updated = time.Now().UTC()
	}

	err := s.submit(ctx, &request{ops: len(ops), apply: func(w *wtxn) (*change, error) {
		m, read, err := w.meta(id)
		if err != nil {
			return nil, err
		}
		if m.Rev != prev {
			return nil, fmt.Errorf("%w: the log ends at revision %d", doc.ErrRevTaken, m.Rev)
		}
		if read {
			// Never write over an op: one past the end would mean that
			// the metadata lags its log. (Once the committer knows the
			// metadata, it wrote the log's end itself.)
			switch found, err := exists(w.txn, opKey(id, prev+1)); {
			case err != nil:
				return nil, err
			case found:
				return nil, corruptf("op %q@%d exists past the metadata's revision %d", id, prev+1, m.Rev)
			}
		}
		ch := &change{ents: slices.Clip(ents), id: id, clients: make(map[string]doc.ClientState, len(clients))}
		for _, c := range clients {
			op := latest[c]
			old, ok, err := w.client(id, c)
			if err != nil {
				return nil, err
			}
			if ok && old.Seq > op.Seq {
				continue // keep the highest seq
			}
			cs := doc.ClientState{Seq: op.Seq, Digest: op.Digest, Rev: op.Rev, User: op.User}
			cb, err := encodeClient(cs)
			if err != nil {
				return nil, err
			}
			ch.ents = append(ch.ents, entry{key: clientKey(id, c), value: cb})
			ch.clients[c] = cs
		}
		m.Rev = last.Rev
		m.Updated = updated
		mb, err := encodeMeta(m)
		if err != nil {
			return nil, err
		}
		ch.ents = append(ch.ents, entry{key: metaKey(id), value: mb})
		ch.meta = &m
		return ch, nil
	}})
	if err != nil {
		return fmt.Errorf("append %s@%d: %w", id, prev+1, err)
	}
	return nil
}

// SaveSnapshot stores document id's content at revision rev, which must be
// one of its revisions. Loading then starts from the newest snapshot. It
// fails with doc.ErrNotFound when the document does not exist.
func (s *Store) SaveSnapshot(ctx context.Context, id string, rev doc.Rev, content ot.Delta) error {
	if !doc.ValidID(id) {
		return fmt.Errorf("save snapshot %q@%d: %w", id, rev, ErrInvalidID)
	}
	if !content.IsDocument() {
		return fmt.Errorf("save snapshot %s@%d: %w: %w", id, rev, ErrInvalid, ot.ErrNotDocument)
	}
	if err := content.Validate(); err != nil {
		return fmt.Errorf("save snapshot %s@%d: %w: %w", id, rev, ErrInvalid, err)
	}
	b, err := encodeSnapshot(rev, content)
	if err != nil {
		return fmt.Errorf("save snapshot %s@%d: encode: %w", id, rev, err)
	}
	err = s.submit(ctx, &request{ops: -1, apply: func(w *wtxn) (*change, error) {
		m, _, err := w.meta(id)
		if err != nil {
			return nil, err
		}
		if rev < 0 || rev > m.Rev {
			return nil, fmt.Errorf("%w: revision outside 0 to %d", ErrInvalid, m.Rev)
		}
		// Snapshots are not in the committer's memory: no state changes.
		return &change{ents: []entry{{key: snapshotKey(id, rev), value: b}}}, nil
	}})
	if err != nil {
		return fmt.Errorf("save snapshot %s@%d: %w", id, rev, err)
	}
	return nil
}
