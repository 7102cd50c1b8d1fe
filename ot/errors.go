package ot

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the package returns wraps one of them, so
// callers can tell the cases apart with errors.Is.
var (
	// ErrInvalid reports a malformed delta: a zero or negative count, an
	// unknown key, several op kinds in one op, a bad embed or bad attributes.
	ErrInvalid = errors.New("ot: invalid delta")

	// ErrSurrogate reports an op boundary that would split a UTF-16
	// surrogate pair, that is, fall inside a character outside the Basic
	// Multilingual Plane.
	ErrSurrogate = errors.New("ot: boundary splits a surrogate pair")

	// ErrLength reports a change that is longer than the document it is
	// applied to.
	ErrLength = errors.New("ot: change longer than document")

	// ErrNotDocument reports a delta used as a document that holds a retain
	// or a delete.
	ErrNotDocument = errors.New("ot: delta is not a document")
)

// OpError describes a problem with one op of a delta. It wraps one of the
// sentinel errors.
type OpError struct {
	Index  int    // position of the op in the delta's Ops
	Reason string // what is wrong, for people
	Err    error  // the sentinel: ErrInvalid or ErrSurrogate
}

func (e *OpError) Error() string {
	return fmt.Sprintf("%v: op %d: %s", e.Err, e.Index, e.Reason)
}

func (e *OpError) Unwrap() error { return e.Err }

func invalid(index int, format string, args ...any) error {
	return &OpError{Index: index, Reason: fmt.Sprintf(format, args...), Err: ErrInvalid}
}
