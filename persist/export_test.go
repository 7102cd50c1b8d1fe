package persist

import (
	"context"

	"github.com/dgraph-io/badger/v4"

	"github.com/cowrite/cowrite/doc"
)

// Test helpers that reach under the store's API: to plant damaged records
// and to see every key.

// OpKey, SnapshotKey, ClientKey, MetaKey and TombKey return the keys of
// the layout in doc.go.
func OpKey(id string, rev doc.Rev) []byte       { return opKey(id, rev) }
func SnapshotKey(id string, rev doc.Rev) []byte { return snapshotKey(id, rev) }
func ClientKey(id, client string) []byte        { return clientKey(id, client) }
func MetaKey(id string) []byte                  { return metaKey(id) }
func TombKey(id string) []byte                  { return tombKey(id) }

// PutRaw writes value under key, bypassing every check; a nil value
// deletes the key. The committer forgets what it knew.
func (s *Store) PutRaw(key, value []byte) error {
	return s.submit(context.Background(), &request{ops: -1, apply: func(*wtxn) (*change, error) {
		return &change{ents: []entry{{key: key, value: value, del: value == nil}}, forgetAll: true}, nil
	}})
}

// GetRaw returns the value under key, or nil.
func (s *Store) GetRaw(key []byte) []byte {
	var v []byte
	s.db.View(func(txn *badger.Txn) error {
		v, _, _ = get(txn, key)
		return nil
	})
	return v
}

// Keys returns every key in the store, in order.
func (s *Store) Keys() [][]byte {
	var keys [][]byte
	s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	return keys
}

// AwaitDeletion waits for a deletion of id under way.
var AwaitDeletion = (*Store).awaitDeletion

// EncodeOp encodes an op record, as Append does.
var EncodeOp = encodeOp
