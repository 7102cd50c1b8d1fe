// Package loadgen is Cowrite's load generator: it drives many WebSocket
// clients against a server, each typing one character at a random position,
// waiting for the acknowledgement and optionally pausing, and reports
// acknowledged ops per second, ack and broadcast latency, and the server's
// CPU time and memory.
//
// By default Run starts the server itself, as a child process on a free
// loopback port and a temporary data directory with sync on, so that it can
// read the server's CPU time and peak memory from /proc (Linux only; on
// other systems those figures are missing). Given a URL, it drives a
// running server and reports only what it sees from the client side.
//
// The clients speak the wire protocol directly (package session's codec
// over gorilla/websocket) rather than through session/client: the load
// generator shares the machine with the server, and the Go client's
// per-client document replicas and rebasing would take CPU time from the
// server it measures. A client here only tracks the revision and length of
// its document, which is all it needs to make valid ops.
//
// Broadcast latency is measured with a send-time ring per client: a sender
// writes the time of its op into slot seq mod ringSize before sending it,
// and every other client of the document reads it when the op arrives.
// Each client has at most one op in flight, so a slot is never reused
// before the op's broadcast has arrived everywhere.
//
// Run is not safe to call concurrently with itself on one Config; the
// figures of two concurrent runs on one machine would mean little anyway.
package loadgen
