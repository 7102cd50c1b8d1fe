package session

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cowrite/cowrite/ot"
)

// A limiter lets a connection send rate messages a second, with bursts of
// as many, and tells a sender far over the limit apart: every message over
// the rate takes a strike, strikes come back at floodFactor−1 times the
// rate, so a connection that sends floodFactor times the rate for long
// runs out of them.
type limiter struct {
	ok, strikes *rate.Limiter
}

// authRate is how many token refreshes (Auth) a second one connection may
// send. A client refreshes once in a token's life: more is a bug or an
// attack, and each costs a signature check.
const authRate = 1

// floodFactor is how many times its rate a connection may send, sustained,
// before it is closed with CloseRateLimited.
const floodFactor = 5

func newLimiter(perSec int) *limiter {
	return &limiter{
		ok:      rate.NewLimiter(rate.Limit(perSec), perSec),
		strikes: rate.NewLimiter(rate.Limit((floodFactor-1)*perSec), (floodFactor-1)*perSec),
	}
}

// allow reports whether a message is within the rate, and if not whether
// the connection is flooding.
func (l *limiter) allow() (ok, flood bool) {
	if l.ok.Allow() {
		return true, false
	}
	return false, !l.strikes.Allow()
}

// tooLarge says why a delta is over the delta limits (Config.MaxDeltaOps,
// Config.MaxInsertBytes), or "" when it is within them. Ops from a
// connection and from Submit are held to the same limits.
func (m *Manager) tooLarge(d ot.Delta) string {
	if len(d.Ops) > m.cfg.MaxDeltaOps {
		return fmt.Sprintf("the delta has more than %d ops", m.cfg.MaxDeltaOps)
	}
	n := 0
	for _, o := range d.Ops {
		n += len(o.Insert)
	}
	if n > m.cfg.MaxInsertBytes {
		return fmt.Sprintf("the delta inserts more than %d bytes of text", m.cfg.MaxInsertBytes)
	}
	return ""
}

// takeUser counts a connection of user, reporting false when the user
// already has Config.MaxConnsPerUser.
func (m *Manager) takeUser(user string) bool {
	m.usersMu.Lock()
	defer m.usersMu.Unlock()
	if m.users[user] >= m.cfg.MaxConnsPerUser {
		return false
	}
	if m.users == nil {
		m.users = map[string]int{}
	}
	m.users[user]++
	return true
}

func (m *Manager) releaseUser(user string) {
	m.usersMu.Lock()
	defer m.usersMu.Unlock()
	if m.users[user]--; m.users[user] <= 0 {
		delete(m.users, user)
	}
}

// A KeyedLimiter limits events per key (a user, a client address) to
// PerSec a second, in bursts of as many. A key's bucket is dropped after a
// minute without events, when it would be full again anyway, so memory
// follows the keys seen in the last minute. It is safe for concurrent use.
type KeyedLimiter struct {
	PerSec int

	mu    sync.Mutex
	keys  map[string]*keyBucket
	swept time.Time
}

type keyBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// keyIdle is how long a key's bucket is kept without events, and how often
// idle buckets are dropped.
const keyIdle = time.Minute

// Take takes one event of key at now, or reports how long until one would
// be allowed.
func (l *KeyedLimiter) Take(key string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= keyIdle {
		for k, b := range l.keys {
			if now.Sub(b.seen) >= keyIdle {
				delete(l.keys, k)
			}
		}
		l.swept = now
	}
	b := l.keys[key]
	if b == nil {
		if l.keys == nil {
			l.keys = map[string]*keyBucket{}
		}
		b = &keyBucket{lim: rate.NewLimiter(rate.Limit(l.PerSec), l.PerSec)}
		l.keys[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	wait = r.DelayFrom(now)
	r.CancelAt(now) // only asked how long: the event is refused, not queued
	return false, wait
}
