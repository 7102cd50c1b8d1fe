package session

import (
	"sync/atomic"
	"time"
)

// Metrics receives counts of what the session layer does, for monitoring.
// Every label an implementation may derive is a fixed value of this
// package (an error code, a close code), never a client-supplied string.
// Its methods are called from rooms and peers concurrently and must not
// block.
type Metrics interface {
	// ConnOpened and ConnClosed count connections handed to Connect, and
	// those whose Peer learned they ended.
	ConnOpened()
	ConnClosed()
	// RoomLoaded and RoomUnloaded count rooms that loaded their document
	// and rooms that stopped after loading (unloaded, failed, deleted, shut
	// down).
	RoomLoaded()
	RoomUnloaded()
	// OpAccepted counts an op that was sequenced, applied and made
	// durable, from a connection or the REST API; OpRejected, one refused with the given error code (one of
	// the Code constants).
	OpAccepted()
	OpRejected(code string)
	// DedupeHit counts a resent op answered with its first revision
	// without applying it again.
	DedupeHit()
	// Resync counts a welcome with Reset set.
	Resync()
	// SlowConsumer counts a connection closed with CloseTooSlow.
	SlowConsumer()
	// Commit records one Store.Append: how long it took and how many ops
	// it made durable.
	Commit(d time.Duration, ops int)
	// Closed counts a close code sent to a client (one of the Close
	// constants).
	Closed(code int)
}

// nopMetrics is the default Metrics: it counts nothing.
type nopMetrics struct{}

func (nopMetrics) ConnOpened()               {}
func (nopMetrics) ConnClosed()               {}
func (nopMetrics) RoomLoaded()               {}
func (nopMetrics) RoomUnloaded()             {}
func (nopMetrics) OpAccepted()               {}
func (nopMetrics) OpRejected(string)         {}
func (nopMetrics) DedupeHit()                {}
func (nopMetrics) Resync()                   {}
func (nopMetrics) SlowConsumer()             {}
func (nopMetrics) Commit(time.Duration, int) {}
func (nopMetrics) Closed(int)                {}

// countingConn counts the close code of a connection's first Close, the
// one a Conn sends.
type countingConn struct {
	Conn
	metrics Metrics
	closed  atomic.Bool
}

func (c *countingConn) Close(code int, reason string) {
	if c.closed.CompareAndSwap(false, true) {
		c.metrics.Closed(code)
	}
	c.Conn.Close(code, reason)
}
