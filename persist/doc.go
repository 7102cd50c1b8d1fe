// Package persist is Cowrite's store on Badger: the op log, snapshots,
// per-client dedupe records and document metadata. Badger and the encoding
// of records live here and nowhere else; no Badger error value leaves the
// package (see ErrStorage).
//
// # Durability
//
// Every write is committed by one goroutine, the committer, which puts the
// writes that arrive together, from any number of documents, into one
// Badger transaction and one sync (group commit); Stats counts the
// commits. There is no timer: a lone write commits at once, and the writes
// that arrive during a sync make the next batch. A write is on disk when
// its call returns nil; with Options.NoSync it is in the operating
// system's hands, safe from a crash of the process but not from a power
// failure. One call is never split across transactions: it is atomic, and
// one too large for a transaction fails with ErrTooBig.
//
// Being the only writer, the committer remembers the metadata and client
// records it has read or written, so that an append costs it no read
// (cache.go); that memory holds committed state only.
//
// # Key layout
//
// A document id is 1 to 128 characters of A-Z a-z 0-9 . _ -, so it never
// holds 0x00; inside record keys 0x00 ends it, so that the records of "a"
// are not a prefix of those of "ab". Revisions are 8 bytes, big-endian, so
// that keys sort in revision order.
//
//	m <id>                          metadata: epoch, title, created, updated, latest revision
//	t <id>                          tombstone: the document is being deleted
//	r <id> 0x00 'c' <client id>     dedupe record of a client: seq, digest, revision
//	r <id> 0x00 'o' <rev:8>         op record: the op that made revision rev
//	r <id> 0x00 's' <rev:8>         snapshot: the content at revision rev
//	h                               never present: Ready's write deletes it
//	v 'u' <user>                    a revoked user: time of the revocation
//	v 's' <session>                 a revoked session (token jti): time of the revocation
//
// A document's op log is one prefix scan in revision order; its newest
// snapshot at or below revision rev is the first key of a reverse scan
// (IteratorOptions.Prefix set) from r <id> 0x00 's' <rev:8>; the metadata of
// every document is one scan of the m prefix, in id order. All of a
// document's records but its metadata share the prefix r <id> 0x00.
//
// # Records
//
// Values are msgpack maps with short keys and a version field "v" (now 1):
//
//	meta      {v, e: epoch, n: title, c: created, u: updated, r: rev}
//	op        {v, r: rev, c: client, s: seq, h: digest, a: author, u: user, t: time, d: delta ops}
//	snapshot  {v, r: rev, d: delta ops}
//	client    {v, s: seq, h: digest, r: rev, u: user}
//	tombstone {v, t: time}
//	revoked   {v, t: time}
//
// Times are Unix nanoseconds (0 for the zero time). A delta is stored as its
// list of ops in Quill's shape (ot.Delta.Value). Unknown keys are ignored,
// so later versions may add fields.
//
// # Invariants
//
// The metadata's revision is the last op's: Append writes both in one
// transaction. Create writes a snapshot at revision 0, so every document
// has one. A record that cannot be decoded, a delta that fails validation,
// a missing revision, or records without metadata (outside a deletion)
// make the document unavailable with an error wrapping doc.ErrCorrupt that
// names the key or revision. Such a document is never taken for a new one:
// Create fails on it, Append never writes over an op. It can be deleted.
//
// # Backup and restore
//
// Backup writes every document from one read transaction, in Cowrite's
// own format (backup.go), so it is consistent while the store is written;
// Restore reads it into an empty store, giving every document a new epoch.
//
// # Concurrency
//
// Every method of Store is safe for concurrent use. Reads see one
// consistent snapshot of the store. Writes are serialised by the
// committer, in the order they reach it; Append's prev check makes
// concurrent appends to one document safe (one wins, the others get
// doc.ErrRevTaken). Close waits for the background goroutines (the
// committer, value-log GC, deletions) and for calls in progress.
package persist
