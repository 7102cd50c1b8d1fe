package persist

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/cowrite/cowrite/doc"
)

// Errors of the store. Errors about documents wrap doc's sentinels instead:
// doc.ErrNotFound, doc.ErrExists, doc.ErrRevTaken and doc.ErrCorrupt.
var (
	// ErrLocked reports a data directory that another Store, in this
	// process or another, has open.
	ErrLocked = errors.New("persist: data directory in use by another process")

	// ErrClosed reports a call on a closed Store.
	ErrClosed = errors.New("persist: store closed")

	// ErrTooBig reports a write larger than one transaction can hold
	// (about 15% of Options.MemTableSize, with values above
	// Options.ValueThreshold counted at a few bytes) or a value larger than
	// Options.ValueLogFileSize.
	ErrTooBig = errors.New("persist: write too large for one transaction")

	// ErrInvalidID reports a document id outside the pattern: 1 to 128
	// characters of A-Z a-z 0-9 . _ -, not starting with a dot.
	ErrInvalidID = errors.New("persist: invalid document id")

	// ErrInvalid reports an argument the store cannot accept: revisions
	// that do not follow each other, an invalid delta, content that is not
	// a document, options that contradict each other.
	ErrInvalid = errors.New("persist: invalid argument")

	// ErrStorage reports a failure of the storage engine or the disk. The
	// message holds the engine's own.
	ErrStorage = errors.New("persist: storage failure")
)

// storageErr translates an error from Badger, so that no Badger error
// value leaves the package.
func storageErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	case errors.Is(err, badger.ErrTxnTooBig):
		return ErrTooBig
	}
	return fmt.Errorf("%w: %s", ErrStorage, err.Error())
}

// corrupt reports an unreadable record under key.
func corrupt(key []byte, cause error) error {
	return fmt.Errorf("%w: %s: %v", doc.ErrCorrupt, describeKey(key), cause)
}

// corruptf reports records of a document that do not fit together.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{doc.ErrCorrupt}, args...)...)
}
