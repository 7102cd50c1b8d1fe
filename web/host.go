package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// In open mode anyone who reaches the server may read and write every
// document, and the only thing between a hostile web page and a server on
// the user's own machine is the same-origin policy, which DNS rebinding
// gets around: the page's own name is pointed at 127.0.0.1, and its
// requests then look same-origin. Such a request names the attacker's
// host, so in open mode the server answers only requests for an IP
// address, for localhost, or for a name listed in Config.AllowedHosts.
// With tokens this check is off: a page cannot read the user's token.

// checkHost is the middleware that refuses, in open mode, requests for a
// host name that is not allowed.
func (srv *Server) checkHost(next http.Handler) http.Handler {
	if srv.cfg.Verifier != nil {
		return next
	}
	allowed := map[string]bool{}
	for _, h := range srv.cfg.AllowedHosts {
		allowed[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, allowed) {
			writeError(w, http.StatusForbidden, "host_not_allowed",
				"in open mode this server answers only for localhost, IP addresses and the names given with --allowed-hosts")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether the Host header hostport names an IP
// address, localhost (or a name under .localhost) or an allowed name.
func hostAllowed(hostport string, allowed map[string]bool) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || allowed[host]
}
