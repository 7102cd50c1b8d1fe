// Package doc holds one document's state: its content, epoch, revision, the
// window of recent ops, and per client the highest applied seq; and the
// sequencer step that turns an op a client made against an old revision
// into the next revision.
//
// Content is a balanced tree of attributed runs with UTF-16 lengths cached,
// so applying an edit costs the same on a 10 MB document as on a 10 KB one.
//
// Nothing here is safe for concurrent use: a Document is owned by one
// goroutine (the session package's room), which serialises every call.
package doc
