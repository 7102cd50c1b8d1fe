package persist

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
)

// Load returns what is stored of document id: its newest snapshot, the ops
// after it and its client records, read from one consistent view. It fails
// with doc.ErrNotFound, or doc.ErrCorrupt when records cannot be read or do
// not fit together.
func (s *Store) Load(ctx context.Context, id string) (doc.Stored, error) {
	if !doc.ValidID(id) {
		return doc.Stored{}, fmt.Errorf("load %q: %w", id, ErrInvalidID)
	}
	var st doc.Stored
	err := s.view(ctx, func(txn *badger.Txn) error {
		m, err := readMeta(txn, id)
		if err != nil {
			return err
		}
		snapRev, snap, err := readSnapshot(txn, id, m.Rev)
		if err != nil {
			return err
		}
		ops, err := readOps(ctx, txn, id, snapRev, m.Rev)
		if err != nil {
			return err
		}
		clients, err := readClients(ctx, txn, id, m.Rev)
		if err != nil {
			return err
		}
		st = doc.Stored{Meta: m, SnapshotRev: snapRev, Snapshot: snap, Ops: ops, Clients: clients}
		return nil
	})
	if err != nil {
		return doc.Stored{}, fmt.Errorf("load %s: %w", id, err)
	}
	return st, nil
}

// Ops returns the ops of document id with from < rev <= to, in order. It
// fails with doc.ErrNotFound when the document does not exist or to is
// past its last revision, and doc.ErrCorrupt when one of the ops is missing
// or unreadable.
func (s *Store) Ops(ctx context.Context, id string, from, to doc.Rev) ([]doc.Sequenced, error) {
	if !doc.ValidID(id) {
		return nil, fmt.Errorf("ops %q: %w", id, ErrInvalidID)
	}
	if from < 0 || to < from {
		return nil, fmt.Errorf("ops %s (%d, %d]: %w: bad range", id, from, to, ErrInvalid)
	}
	var ops []doc.Sequenced
	err := s.view(ctx, func(txn *badger.Txn) error {
		m, err := readMeta(txn, id)
		if err != nil {
			return err
		}
		if to > m.Rev {
			return fmt.Errorf("%w: log ends at revision %d", doc.ErrNotFound, m.Rev)
		}
		ops, err = readOps(ctx, txn, id, from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ops %s (%d, %d]: %w", id, from, to, err)
	}
	return ops, nil
}

// At returns document id's content at revision rev: the newest snapshot at
// or below rev with the ops after it applied. It fails with doc.ErrNotFound
// when the document does not exist or rev is not one of its revisions.
func (s *Store) At(ctx context.Context, id string, rev doc.Rev) (ot.Delta, error) {
	if !doc.ValidID(id) {
		return ot.Delta{}, fmt.Errorf("content %q@%d: %w", id, rev, ErrInvalidID)
	}
	var content ot.Delta
	err := s.view(ctx, func(txn *badger.Txn) error {
		m, err := readMeta(txn, id)
		if err != nil {
			return err
		}
		if rev < 0 || rev > m.Rev {
			return fmt.Errorf("%w: revisions run from 0 to %d", doc.ErrNotFound, m.Rev)
		}
		snapRev, snap, err := readSnapshot(txn, id, rev)
		if err != nil {
			return err
		}
		ops, err := readOps(ctx, txn, id, snapRev, rev)
		if err != nil {
			return err
		}
		content = snap
		for _, op := range ops {
			if content, err = ot.Apply(content, op.Delta); err != nil {
				return corruptf("op %q@%d does not apply: %v", id, op.Rev, err)
			}
		}
		return nil
	})
	if err != nil {
		return ot.Delta{}, fmt.Errorf("content %s@%d: %w", id, rev, err)
	}
	return content, nil
}

// Meta returns document id's metadata. It fails with doc.ErrNotFound or
// doc.ErrCorrupt.
func (s *Store) Meta(ctx context.Context, id string) (doc.Meta, error) {
	if !doc.ValidID(id) {
		return doc.Meta{}, fmt.Errorf("meta %q: %w", id, ErrInvalidID)
	}
	var m doc.Meta
	err := s.view(ctx, func(txn *badger.Txn) (err error) {
		m, err = readMeta(txn, id)
		return err
	})
	if err != nil {
		return doc.Meta{}, fmt.Errorf("meta %s: %w", id, err)
	}
	return m, nil
}

// List returns every document's metadata, ordered by id. It fails with
// doc.ErrCorrupt, naming the document, when one metadata record is
// unreadable: a listing never leaves a document out silently.
func (s *Store) List(ctx context.Context) ([]doc.Meta, error) {
	var list []doc.Meta
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixMeta}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			b, err := item.ValueCopy(nil)
			if err != nil {
				return storageErr(err)
			}
			id := string(item.Key()[1:])
			m, err := decodeMeta(id, b)
			if err != nil {
				return corrupt(item.KeyCopy(nil), err)
			}
			list = append(list, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return list, nil
}

// get returns a copy of key's value; ok is false when there is none.
func get(txn *badger.Txn, key []byte) (value []byte, ok bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, storageErr(err)
	}
	value, err = item.ValueCopy(nil)
	if err != nil {
		return nil, false, storageErr(err)
	}
	return value, true, nil
}

// exists reports whether key has a value.
func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, storageErr(err)
}

// hasPrefix reports whether any key starts with prefix. It closes its
// iterator before returning: a read-write transaction allows one at a time.
func hasPrefix(txn *badger.Txn, prefix []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// readMeta returns document id's metadata. A document without metadata is
// not found, unless records of it exist and no deletion is under way:
// then its metadata was lost, and the document is corrupt rather than
// absent, so that nobody creates a new document over its records.
func readMeta(txn *badger.Txn, id string) (doc.Meta, error) {
	key := metaKey(id)
	b, ok, err := get(txn, key)
	if err != nil {
		return doc.Meta{}, err
	}
	if !ok {
		if err := checkAbsent(txn, id); err != nil {
			return doc.Meta{}, err
		}
		return doc.Meta{}, doc.ErrNotFound
	}
	m, err := decodeMeta(id, b)
	if err != nil {
		return doc.Meta{}, corrupt(key, err)
	}
	return m, nil
}

// checkAbsent checks, for a document without metadata, that no records of
// it remain outside a deletion.
func checkAbsent(txn *badger.Txn, id string) error {
	deleting, err := exists(txn, tombKey(id))
	if err != nil || deleting {
		return err
	}
	if hasPrefix(txn, recordsPrefix(id)) {
		return corruptf("records of %q exist without its metadata", id)
	}
	return nil
}

// readSnapshot returns document id's newest snapshot at or below rev.
func readSnapshot(txn *badger.Txn, id string, rev doc.Rev) (doc.Rev, ot.Delta, error) {
	prefix := kindPrefix(id, kindSnapshot)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
	defer it.Close()
	// In reverse, Seek finds the greatest key at or below its argument.
	it.Seek(snapshotKey(id, rev))
	if !it.Valid() {
		return 0, ot.Delta{}, corruptf("no snapshot of %q at or below revision %d", id, rev)
	}
	item := it.Item()
	key := item.KeyCopy(nil)
	keyRev, ok := keyRev(prefix, key)
	if !ok {
		return 0, ot.Delta{}, corrupt(key, errors.New("malformed key"))
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return 0, ot.Delta{}, storageErr(err)
	}
	snapRev, content, err := decodeSnapshot(b)
	if err != nil {
		return 0, ot.Delta{}, corrupt(key, err)
	}
	if snapRev != keyRev {
		return 0, ot.Delta{}, corrupt(key, fmt.Errorf("record says revision %d", snapRev))
	}
	return snapRev, content, nil
}

// readOps returns document id's ops with from < rev <= to, all of them:
// a missing revision is corruption, never skipped.
func readOps(ctx context.Context, txn *badger.Txn, id string, from, to doc.Rev) ([]doc.Sequenced, error) {
	if to <= from {
		return nil, nil
	}
	prefix := kindPrefix(id, kindOp)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	ops := make([]doc.Sequenced, 0, min(to-from, 4096))
	want := from + 1
	for it.Seek(opKey(id, want)); it.Valid() && want <= to; it.Next() {
		if want%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		item := it.Item()
		key := item.KeyCopy(nil)
		rev, ok := keyRev(prefix, key)
		if !ok {
			return nil, corrupt(key, errors.New("malformed key"))
		}
		if rev > to {
			break
		}
		if rev != want {
			return nil, corruptf("op %q@%d is missing", id, want)
		}
		b, err := item.ValueCopy(nil)
		if err != nil {
			return nil, storageErr(err)
		}
		op, err := decodeOp(b)
		if err != nil {
			return nil, corrupt(key, err)
		}
		if op.Rev != rev {
			return nil, corrupt(key, fmt.Errorf("record says revision %d", op.Rev))
		}
		ops = append(ops, op)
		want++
	}
	if want <= to {
		return nil, corruptf("op %q@%d is missing", id, want)
	}
	return ops, nil
}

// readClients returns document id's client records. None may be after the
// log's last revision, rev.
func readClients(ctx context.Context, txn *badger.Txn, id string, rev doc.Rev) (map[string]doc.ClientState, error) {
	prefix := kindPrefix(id, kindClient)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	clients := map[string]doc.ClientState{}
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		item := it.Item()
		key := item.KeyCopy(nil)
		b, err := item.ValueCopy(nil)
		if err != nil {
			return nil, storageErr(err)
		}
		cs, err := decodeClient(b)
		if err != nil {
			return nil, corrupt(key, err)
		}
		if cs.Rev > rev {
			return nil, corrupt(key, fmt.Errorf("revision %d after the log's end %d", cs.Rev, rev))
		}
		clients[string(key[len(prefix):])] = cs
	}
	return clients, nil
}
