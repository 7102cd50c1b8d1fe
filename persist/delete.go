package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/cowrite/cowrite/doc"
)

// Deletion. Delete replaces a document's metadata with a tombstone in one
// commit, so the document is gone at once for every reader and writer.
// Then a reaper goroutine removes its records in steps of deleteChunk keys,
// each an ordinary request to the committer (bounded transactions that
// share commits with other writes; Badger's DropPrefix would stop every
// write meanwhile), and removes the tombstone last. A tombstone left by a
// crash or by Close makes Open start the reaper again. While the tombstone
// exists, records of the id are an unfinished deletion, not corruption.

// deleteChunk is how many keys one deletion step removes.
const deleteChunk = 1000

// A deletion is a document whose records a reaper is removing.
type deletion struct {
	done chan struct{}
	err  error // the reaper's outcome, set before done is closed
}

// Delete removes document id and all its records. The document is gone as
// soon as its tombstone is committed; Delete then waits until its records
// are removed. When ctx ends during that wait Delete returns ctx's error,
// and the records are still removed in the background. It fails with
// doc.ErrNotFound when there is no such document. A corrupt document can
// be deleted.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !doc.ValidID(id) {
		return fmt.Errorf("delete %q: %w", id, ErrInvalidID)
	}
	s.delMu.Lock()
	if _, ok := s.deleting[id]; ok {
		s.delMu.Unlock()
		return fmt.Errorf("delete %s: %w: already being deleted", id, doc.ErrNotFound)
	}
	d := &deletion{done: make(chan struct{})}
	s.deleting[id] = d
	s.delMu.Unlock()

	err := s.submit(ctx, &request{ops: -1, apply: func(w *wtxn) (*change, error) {
		txn := w.txn
		hasMeta, err := exists(txn, metaKey(id))
		if err != nil {
			return nil, err
		}
		deleting, err := exists(txn, tombKey(id))
		if err != nil {
			return nil, err
		}
		if !hasMeta && !deleting && !hasPrefix(txn, recordsPrefix(id)) {
			return nil, doc.ErrNotFound
		}
		tb, err := encodeTime(time.Now())
		if err != nil {
			return nil, err
		}
		ents := []entry{{key: tombKey(id), value: tb}}
		if hasMeta {
			ents = append(ents, entry{key: metaKey(id), del: true})
		}
		return &change{ents: ents, id: id, forget: true}, nil
	}})
	if err != nil {
		s.finishDeletion(id, d, err)
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if !s.startReaper(id, d) {
		s.finishDeletion(id, d, ErrClosed)
		return fmt.Errorf("delete %s: records left for the next Open: %w", id, ErrClosed)
	}
	select {
	case <-d.done:
		if d.err != nil {
			return fmt.Errorf("delete %s: %w", id, d.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("delete %s: gone, records still being removed: %w", id, ctx.Err())
	}
}

// awaitDeletion waits until no reaper is removing document id's records.
func (s *Store) awaitDeletion(ctx context.Context, id string) error {
	s.delMu.Lock()
	d := s.deleting[id]
	s.delMu.Unlock()
	if d == nil {
		return nil
	}
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startReaper starts the goroutine that removes document id's records,
// unless the store is closing.
func (s *Store) startReaper(id string, d *deletion) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.removeRecords(id)
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) {
			s.log.Error().Err(err).Str("doc", id).Msg("remove records of deleted document")
		}
		s.finishDeletion(id, d, err)
	}()
	return true
}

func (s *Store) finishDeletion(id string, d *deletion, err error) {
	s.delMu.Lock()
	if s.deleting[id] == d {
		delete(s.deleting, id)
	}
	s.delMu.Unlock()
	d.err = err
	close(d.done)
}

// removeRecords removes document id's records in steps, then its
// tombstone.
func (s *Store) removeRecords(id string) error {
	prefix := recordsPrefix(id)
	start := prefix
	for {
		var ents []entry
		err := s.view(s.ctx, func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Seek(start); it.Valid() && len(ents) < deleteChunk; it.Next() {
				ents = append(ents, entry{key: it.Item().KeyCopy(nil), del: true})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(ents) == 0 {
			break
		}
		err = s.submit(s.ctx, &request{ops: -1, apply: func(*wtxn) (*change, error) {
			return &change{ents: ents, id: id, forget: true}, nil
		}})
		if err != nil {
			return err
		}
		last := ents[len(ents)-1].key
		start = append(append(make([]byte, 0, len(last)+1), last...), 0)
	}
	return s.submit(s.ctx, &request{ops: -1, apply: func(*wtxn) (*change, error) {
		return &change{ents: []entry{{key: tombKey(id), del: true}}, id: id, forget: true}, nil
	}})
}

// resumeDeletions starts a reaper for every tombstone: deletions that a
// crash or Close interrupted.
func (s *Store) resumeDeletions() error {
	var ids []string
	err := s.view(context.Background(), func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixTomb}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ids = append(ids, string(it.Item().Key()[1:]))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resume deletions: %w", err)
	}
	for _, id := range ids {
		d := &deletion{done: make(chan struct{})}
		s.delMu.Lock()
		s.deleting[id] = d
		s.delMu.Unlock()
		s.log.Info().Str("doc", id).Msg("resume deletion")
		if !s.startReaper(id, d) {
			s.finishDeletion(id, d, ErrClosed)
		}
	}
	return nil
}
