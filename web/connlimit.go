package web

import (
	"net"
	"net/http"
	"sync"

	"github.com/cowrite/cowrite/session"
)

// connCounter counts open WebSockets, in total and by client IP.
type connCounter struct {
	mu    sync.Mutex
	total int
	byIP  map[string]int
}

// acquire counts a new connection from ip, or reports why it is refused:
// the HTTP status and message. perIP 0 means no count by IP.
func (c *connCounter) acquire(ip string, total, perIP int) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= total {
		return http.StatusServiceUnavailable, "the server has too many connections; retry later"
	}
	if perIP > 0 && c.byIP[ip] >= perIP {
		return http.StatusTooManyRequests, "too many connections from this address"
	}
	c.total++
	if perIP > 0 {
		if c.byIP == nil {
			c.byIP = map[string]int{}
		}
		c.byIP[ip]++
	}
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

// clientIP is the address the request came from: the peer of the TCP
// connection, never a header a client can set.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limitConns counts the WebSocket served by serve, refusing it with
// too_many_connections when a limit is reached. By IP only in open mode:
// with tokens the session counts connections per user.
func (srv *Server) limitConns(w http.ResponseWriter, r *http.Request, serve func()) {
	perIP := 0
	if srv.cfg.Verifier == nil {
		perIP = srv.cfg.MaxConnsPerIP
	}
	ip := clientIP(r)
	if status, msg := srv.conns.acquire(ip, srv.cfg.MaxConns, perIP); status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "10")
		}
		writeError(w, status, session.CodeTooManyConns, msg)
		return
	}
	defer srv.conns.release(ip, perIP)
	serve()
}
