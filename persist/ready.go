package persist

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// readyTTL is how long Ready reuses its last answer, so that health checks
// under load cost one write a second at most.
const readyTTL = time.Second

// readyTimeout bounds Ready's write.
const readyTimeout = 2 * time.Second

// heartbeatKey is the key Ready deletes: a write that goes through the
// committer, its transaction and its sync like any other, and leaves no key
// behind (a store that served health checks is still empty for Restore).
var heartbeatKey = []byte{prefixHeartbeat}

// readiness is Ready's cached answer.
type readiness struct {
	mu  sync.Mutex // held during the write: concurrent callers wait for it
	at  time.Time
	err error
}

// Ready reports whether the store can write: it makes one small durable
// write through the committer, within two seconds, and returns its error
// (ErrClosed once the store is closed). An answer is reused for a second.
// It is safe for concurrent use.
func (s *Store) Ready(ctx context.Context) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("store cannot write: %w", ErrClosed)
	}
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if !s.ready.at.IsZero() && time.Since(s.ready.at) < readyTTL {
		return s.ready.err
	}
	wctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := s.submit(wctx, &request{ops: -1, apply: func(*wtxn) (*change, error) {
		return &change{ents: []entry{{key: heartbeatKey, del: true}}}, nil
	}})
	if err != nil {
		err = fmt.Errorf("store cannot write: %w", err)
		if ctx.Err() != nil {
			return err // the caller gave up: not the store's answer
		}
	}
	s.ready.at, s.ready.err = time.Now(), err
	return err
}
