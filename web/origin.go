package web

import (
	"net/http"
	"net/url"
	"strings"
)

// originChecker decides which pages may open a WebSocket: pages of the
// server's own origin, clients that send no Origin (programs, not
// browsers), and the configured origins, compared exactly.
type originChecker struct {
	allowed map[string]bool
}

func newOriginChecker(origins []string) *originChecker {
	oc := &originChecker{allowed: map[string]bool{}}
	for _, o := range origins {
		oc.allowed[o] = true
	}
	return oc
}

func (oc *originChecker) check(r *http.Request) bool {
	origin := r.Header["Origin"]
	if len(origin) == 0 {
		return true
	}
	if len(origin) > 1 {
		return false
	}
	if oc.allowed[origin[0]] {
		return true
	}
	u, err := url.Parse(origin[0])
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}
