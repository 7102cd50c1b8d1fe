package web

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

// limitWrite takes one REST write of the caller (id's user, or the
// client address in open mode), or answers 429 rate_limited with
// Retry-After and reports false.
func (srv *Server) limitWrite(w http.ResponseWriter, r *http.Request, id *auth.Identity) bool {
	caller := "addr " + srv.clientIP(r)
	if id != nil {
		caller = "user " + id.User
	}
	ok, wait := srv.writes.Take(caller, time.Now())
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, http.StatusTooManyRequests, session.CodeRateLimited, "too many writes; retry later")
	return false
}
