package persist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Revocations of users and sessions (see session/auth): the server keeps
// them here so that a restart does not let a revoked token back in. They
// are server records, not a document's; Backup carries them too.
//
//	v 'u' <user>      user revoked: tokens issued at or before t are refused
//	v 's' <session>   session revoked: tokens with this jti are refused

// Revocation is one stored revocation: exactly one of User and Session is
// set.
type Revocation struct {
	User    string
	Session string
	At      time.Time
}

// maxRevokedLen is the longest user or session id a revocation may name.
const maxRevokedLen = 256

func revokedKey(rev Revocation) ([]byte, error) {
	kind, id := byte(kindRevokedUser), rev.User
	if rev.Session != "" {
		kind, id = kindRevokedSession, rev.Session
	}
	if (rev.User == "") == (rev.Session == "") || len(id) > maxRevokedLen {
		return nil, errors.New("persist: a revocation names exactly one user or one session, of at most 256 bytes")
	}
	return append([]byte{prefixRevoked, kind}, id...), nil
}

// Revoke stores rev durably. Revoking a user again moves the time of their
// revocation forward, never back; revoking a session again changes
// nothing.
func (s *Store) Revoke(ctx context.Context, rev Revocation) error {
	key, err := revokedKey(rev)
	if err != nil {
		return err
	}
	return s.submit(ctx, &request{ops: -1, apply: func(w *wtxn) (*change, error) {
		b, found, err := get(w.txn, key)
		if err != nil {
			return nil, err
		}
		if found {
			old, err := decodeTime(b)
			if err != nil {
				return nil, corrupt(key, err)
			}
			if rev.Session != "" || !rev.At.After(old) {
				return &change{}, nil
			}
		}
		if b, err = encodeTime(rev.At); err != nil {
			return nil, err
		}
		return &change{ents: []entry{{key: key, value: b}}}, nil
	}})
}

// decodeRevocation reads the revocation stored under key; the error wraps
// doc.ErrCorrupt.
func decodeRevocation(key, b []byte) (Revocation, error) {
	if len(key) < 3 || len(key) > 2+maxRevokedLen {
		return Revocation{}, corrupt(key, errors.New("bad revocation key"))
	}
	at, err := decodeTime(b)
	if err != nil {
		return Revocation{}, corrupt(key, err)
	}
	rev := Revocation{At: at}
	switch key[1] {
	case kindRevokedUser:
		rev.User = string(key[2:])
	case kindRevokedSession:
		rev.Session = string(key[2:])
	default:
		return Revocation{}, corrupt(key, fmt.Errorf("unknown revocation kind %q", key[1]))
	}
	return rev, nil
}

// Revocations returns every stored revocation.
func (s *Store) Revocations(ctx context.Context) ([]Revocation, error) {
	var out []Revocation
	err := s.view(ctx, func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false, Prefix: []byte{prefixRevoked}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			key := it.Item().KeyCopy(nil)
			b, err := it.Item().ValueCopy(nil)
			if err != nil {
				return storageErr(err)
			}
			rev, err := decodeRevocation(key, b)
			if err != nil {
				return err
			}
			out = append(out, rev)
		}
		return nil
	})
	return out, err
}
