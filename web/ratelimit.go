package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

// writeLimiter limits the REST writes (creating, submitting an op,
// deleting) of one caller: a token's user, or in open mode a client
// address. A caller's bucket holds a second of its rate; buckets of
// callers quiet for a minute, full again by then, are dropped.
type writeLimiter struct {
	mu      sync.Mutex
	perSec  int
	callers map[string]*callerBucket
	swept   time.Time
}

type callerBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// sweepEvery is how often, and after how long quiet, buckets are dropped.
const sweepEvery = time.Minute

// reserve takes one write of caller, or says how long to wait for one.
func (l *writeLimiter) reserve(caller string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= sweepEvery {
		for k, b := range l.callers {
			if now.Sub(b.seen) >= sweepEvery {
				delete(l.callers, k)
			}
		}
		l.swept = now
	}
	b := l.callers[caller]
	if b == nil {
		if l.callers == nil {
			l.callers = map[string]*callerBucket{}
		}
		b = &callerBucket{lim: rate.NewLimiter(rate.Limit(l.perSec), l.perSec)}
		l.callers[caller] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	wait = r.DelayFrom(now)
	r.CancelAt(now) // only asked how long: the write is refused, not queued
	return false, wait
}

// limitWrite takes one REST write of the caller (id's user, or the
// client address in open mode), or answers 429 rate_limited with
// Retry-After and reports false.
func (srv *Server) limitWrite(w http.ResponseWriter, r *http.Request, id *auth.Identity) bool {
	caller := "addr " + srv.clientIP(r)
	if id != nil {
		caller = "user " + id.User
	}
	ok, wait := srv.writes.reserve(caller, time.Now())
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, http.StatusTooManyRequests, session.CodeRateLimited, "too many writes; retry later")
	return false
}
