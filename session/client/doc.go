// Package client is the client side of Cowrite's wire protocol, in Go, as
// the browser editor implements it: programs, tests and the load generator
// use it to edit a document live.
//
// A Client keeps the document locally and applies the caller's edits at
// once. It keeps one op in flight and composes later edits into a buffer;
// incoming ops are transformed against both. When the connection drops it
// reconnects with exponential backoff and full jitter, starting from a
// random non-zero delay, says which revision it has, drops what the server
// already applied and resends the rest in order, so no edit is lost or
// applied twice.
//
// All methods are safe for concurrent use. Event callbacks run on the
// client's own goroutine and must not block or call back into the client.
package client
