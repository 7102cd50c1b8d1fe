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

// joinLimiter limits how often each token user may join a document (send
// a hello that is accepted as theirs), across documents and connections:
// a client that is closed for flooding cannot come back at once with fresh
// buckets, and each join, which may cost a whole snapshot, is paid for.
// A user's bucket is kept for a minute after their last join, when it is
// full again.
type joinLimiter struct {
	mu    sync.Mutex
	users map[string]*joinBucket
	swept time.Time
}

type joinBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// allow takes a join of user at perSec a second, in bursts of as many.
func (j *joinLimiter) allow(user string, perSec int, now time.Time) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if now.Sub(j.swept) >= time.Minute {
		for u, b := range j.users {
			if now.Sub(b.seen) >= time.Minute {
				delete(j.users, u)
			}
		}
		j.swept = now
	}
	b := j.users[user]
	if b == nil {
		if j.users == nil {
			j.users = map[string]*joinBucket{}
		}
		b = &joinBucket{lim: rate.NewLimiter(rate.Limit(perSec), perSec)}
		j.users[user] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
