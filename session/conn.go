package session

import "errors"

// ErrSlow reports that a connection's send buffer is full: the client does
// not read fast enough. The session closes it with CloseTooSlow.
var ErrSlow = errors.New("session: client too slow to read")

// ErrClosed reports a send on a closed connection.
var ErrClosed = errors.New("session: connection closed")

// Conn is one client's connection, as the transport (package web) provides
// it. Both methods are safe for concurrent use and must not block on the
// network.
type Conn interface {
	// Send queues one binary frame. It returns ErrSlow when the frame does
	// not fit in the connection's buffer, and ErrClosed after Close; in
	// both cases the frame is not sent. The session never touches frame
	// again after the call.
	Send(frame []byte) error

	// Close closes the connection with a WebSocket close code and reason,
	// without waiting for queued frames. Later calls do nothing.
	Close(code int, reason string)
}
