package web

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/cowrite/cowrite/session"
)

// connCounter counts open WebSockets, in total and by client IP, and the
// ones by client IP that have not had their hello accepted yet.
type connCounter struct {
	mu      sync.Mutex
	total   int
	byIP    map[string]int
	pending map[string]int
}

// acquire counts a new connection from ip, or reports why it is refused:
// the HTTP status and message. perIP 0 means no count by IP; every
// connection counts as pending until its slot is released.
func (c *connCounter) acquire(ip string, total, perIP, pendingPerIP int) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= total {
		return http.StatusServiceUnavailable, "the server has too many connections; retry later"
	}
	if perIP > 0 && c.byIP[ip] >= perIP {
		return http.StatusTooManyRequests, "too many connections from this address"
	}
	if c.pending[ip] >= pendingPerIP {
		return http.StatusTooManyRequests, "too many connections from this address are still to say hello"
	}
	c.total++
	if perIP > 0 {
		if c.byIP == nil {
			c.byIP = map[string]int{}
		}
		c.byIP[ip]++
	}
	if c.pending == nil {
		c.pending = map[string]int{}
	}
	c.pending[ip]++
	return 0, ""
}

func (c *connCounter) release(ip string, perIP int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if perIP > 0 {
		if c.byIP[ip]--; c.byIP[ip] <= 0 {
			delete(c.byIP, ip)
		}
	}
}

func (c *connCounter) releasePending(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[ip]--; c.pending[ip] <= 0 {
		delete(c.pending, ip)
	}
}

// clientIP is the address the request came from: the peer of the TCP
// connection, or, when that peer is a trusted proxy, the address the proxy
// says it serves. X-Forwarded-For is read from the right, past every
// trusted proxy, so that an address a client wrote into the header itself
// is never taken; a proxy that is not trusted is the client.
func (srv *Server) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !srv.trusted(addr) {
		return addr.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr.String() // garbage: stop at the last address known good
			}
			addr = a.Unmap()
			if !srv.trusted(addr) {
				return addr.String()
			}
		}
	}
	return addr.String()
}

func (srv *Server) trusted(a netip.Addr) bool {
	for _, p := range srv.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limitConns counts the WebSocket served by serve, refusing it with
// too_many_connections when a limit is reached: in total, by client
// address among those still to say hello, and by client address in open
// mode (with tokens the session counts connections per user). serve gets
// the function that releases the connection's pending slot, to call once
// hello is accepted; calls after the first do nothing.
func (srv *Server) limitConns(w http.ResponseWriter, r *http.Request, serve func(releaseSlot func())) {
	perIP := 0
	if srv.cfg.Verifier == nil {
		perIP = srv.cfg.MaxConnsPerIP
	}
	ip := srv.clientIP(r)
	if status, msg := srv.conns.acquire(ip, srv.cfg.MaxConns, perIP, srv.cfg.MaxPendingPerIP); status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "10")
		}
		writeError(w, status, session.CodeTooManyConns, msg)
		return
	}
	releaseSlot := sync.OnceFunc(func() { srv.conns.releasePending(ip) })
	defer srv.conns.release(ip, perIP)
	defer releaseSlot()
	serve(releaseSlot)
}
