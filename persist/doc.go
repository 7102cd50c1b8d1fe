// Package persist is Cowrite's store on Badger: the op log, snapshots,
// per-client dedupe records and document metadata. Badger and the encoding
// of records live here and nowhere else.
package persist
