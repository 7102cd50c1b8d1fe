// Package ot is Cowrite's rich-text operational transformation engine: the
// Delta type of Quill and its algebra.
//
// A Delta is a list of ops: insert (a string, or an embed: an object with one
// key, of length 1), retain (a count) and delete (a count); inserts and
// retains may carry attributes, and on a retain an attribute set to null
// removes it. A document is a delta of inserts only. The JSON form is
// Quill's own, {"ops":[...]}.
//
// Lengths and positions are UTF-16 code units, as in JavaScript, so that the
// server and every browser agree. Text is held as UTF-8 and counted in
// UTF-16; a cut that would fall inside a surrogate pair (a character outside
// the Basic Multilingual Plane) fails with ErrSurrogate instead of producing
// half a character.
//
// Compose, Transform, TransformPosition and Invert give exactly the results
// of quill-delta 5.1.0 on every input both accept; a differential test
// against quill-delta itself checks this. Diff applies exactly and is
// small, minimal in characters on short documents (see Diff), but may
// choose other ops than quill-delta.
//
// Differences from quill-delta, all on input it accepts but Cowrite refuses:
// counts must be whole numbers from 1 to MaxCount; an op must have exactly one
// of insert, retain and delete and no other keys than those and attributes; a
// delete has no attributes; retain of an embed object (a quill-delta 5
// extension) is refused; text must be valid Unicode, so half a surrogate pair
// ("\ud83d" alone in JSON) is refused; an empty attributes object is the same
// as none. Every delta the algebra returns is canonical: adjacent ops of one
// kind and equal attributes merged, inserts before deletes at one place, no
// zero-length ops and no trailing plain retain.
//
// Deltas decoded from JSON (UnmarshalJSON) or from generic values (FromValue)
// are valid; a delta built in Go should pass Validate before it meets the
// algebra. Apply and Invert validate the change and Diff both documents,
// failing with ErrInvalid; Compose and Transform trust their input: on an
// invalid delta they neither panic nor loop, but their result means nothing.
//
// The package is pure: no I/O, no goroutines, no global state. Every function
// is safe for concurrent use on deltas that nobody modifies.
package ot
