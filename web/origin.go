package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// originChecker decides which pages may open a WebSocket: pages of the
// server's own origin, clients that send no Origin (programs, not
// browsers), and the configured origins. Origins are compared whole, after
// normalOrigin: no suffix, prefix or wildcard matches.
type originChecker struct {
	allowed map[string]bool
}

// newOriginChecker returns a checker allowing origins; an entry that
// ParseOrigins refuses allows nothing.
func newOriginChecker(origins []string) *originChecker {
	oc := &originChecker{allowed: map[string]bool{}}
	for _, o := range validOrigins(origins) {
		oc.allowed[o] = true
	}
	return oc
}

// check reports whether r may be upgraded. It refuses a request with more
// than one Origin header, and an Origin that is not a plain
// scheme://host[:port] (the "null" of sandboxed pages and file: URLs,
// one with a path or user).
func (oc *originChecker) check(r *http.Request) bool {
	values := r.Header["Origin"]
	if len(values) == 0 {
		return true
	}
	if len(values) > 1 {
		return false
	}
	origin, err := normalOrigin(values[0])
	if err != nil {
		return false
	}
	if oc.allowed[origin] {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	own, err := normalOrigin(scheme + "://" + r.Host)
	return err == nil && origin == own
}

// ParseOrigins checks and normalises configured origins, as --allowed-origins
// takes them: each must be scheme://host[:port] with scheme http or https;
// one trailing "/" is dropped, any other path, a query, a fragment or a
// user is refused. The result is what browsers send in Origin: scheme and
// host in lower case, no default port (80 for http, 443 for https).
// Duplicates are dropped.
func ParseOrigins(list []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, o := range list {
		n, err := normalOrigin(strings.TrimSuffix(o, "/"))
		if err != nil {
			return nil, fmt.Errorf("origin %q: %w", o, err)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// validOrigins returns the entries of list that ParseOrigins takes,
// normalised, and drops the others.
func validOrigins(list []string) []string {
	var out []string
	for _, o := range list {
		if n, err := ParseOrigins([]string{o}); err == nil {
			out = append(out, n...)
		}
	}
	return out
}

var (
	errOriginForm   = errors.New("want scheme://host[:port], with no path, query, fragment or user")
	errOriginScheme = errors.New("scheme must be http or https")
	errOriginHost   = errors.New("host must be a DNS name in ASCII (punycode for other scripts) without a trailing dot, or an IP address")
	errOriginPort   = errors.New("port must be a number from 1 to 65535")
	errOriginStar   = errors.New("wildcards are not supported: list every origin")
)

// normalOrigin returns origin as browsers serialise it: scheme and host in
// lower case, an IPv6 address in its canonical form, a port without
// leading zeros and without the scheme's default. It refuses anything but
// http or https scheme://host[:port], so that two strings name the same
// origin exactly when their normal forms are equal. A trailing dot makes
// another origin to browsers, and is refused.
func normalOrigin(origin string) (string, error) {
	if strings.Contains(origin, "*") {
		return "", errOriginStar
	}
	scheme, hostport, ok := strings.Cut(origin, "://")
	if !ok || hostport == "" || strings.ContainsAny(hostport, "/?#@\\%") {
		return "", errOriginForm
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return "", errOriginScheme
	}

	var host, port string
	hasPort := false
	if rest, ok := strings.CutPrefix(hostport, "["); ok {
		addr, after, ok := strings.Cut(rest, "]")
		if !ok {
			return "", errOriginHost
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", errOriginHost
		}
		host = "[" + ip.String() + "]"
		if after != "" {
			if port, hasPort = strings.CutPrefix(after, ":"); !hasPort {
				return "", errOriginForm
			}
		}
	} else {
		host = hostport
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
			host, port, hasPort = hostport[:i], hostport[i+1:], true
		}
		host = strings.ToLower(host)
		if !validHost(host) {
			return "", errOriginHost
		}
	}

	if hasPort {
		n, ok := parsePort(port)
		if !ok {
			return "", errOriginPort
		}
		port = ""
		if !(scheme == "http" && n == 80) && !(scheme == "https" && n == 443) {
			port = ":" + strconv.Itoa(n)
		}
	}
	return scheme + "://" + host + port, nil
}

// validHost reports whether host, in lower case, is a DNS name of ASCII
// letters, digits, "-" and "_" labels, or a dotted IPv4 address.
func validHost(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return false // also a leading, doubled or trailing dot
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// parsePort parses a port of decimal digits only, 1 to 65535.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n >= 1 && n <= 65535
}
