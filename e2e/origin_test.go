package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/web"
)

// TestOrigin opens WebSockets with Origin headers that browsers would
// send, and some made to slip past a loose comparison, to a server that
// allows https://app.example.com: an allowed one joins and creates its
// document; a refused one gets HTTP 403 at the upgrade and the document is
// never created.
func TestOrigin(t *testing.T) {
	s := startServer(t, "", serverOpts{web: web.Config{AllowedOrigins: []string{"https://app.example.com"}, AllowedHosts: []string{"docs.example.com"}}})
	own := s.http.URL // http://127.0.0.1:PORT
	port := own[strings.LastIndexByte(own, ':')+1:]

	for i, tc := range []struct {
		name    string
		origins []string // the Origin headers; none for nil
		host    string   // the Host header; default the server's address
		allowed bool
	}{
		{name: "no_origin", allowed: true},
		{name: "allowed", origins: []string{"https://app.example.com"}, allowed: true},
		{name: "allowed_upper_case", origins: []string{"HTTPS://APP.EXAMPLE.COM"}, allowed: true},
		{name: "allowed_default_port", origins: []string{"https://app.example.com:443"}, allowed: true},
		{name: "same_origin", origins: []string{own}, allowed: true},
		{name: "same_origin_by_host", origins: []string{"http://docs.example.com"}, host: "docs.example.com", allowed: true},

		{name: "null", origins: []string{"null"}},
		{name: "other_port", origins: []string{"https://app.example.com:8443"}},
		{name: "other_scheme", origins: []string{"http://app.example.com"}},
		{name: "suffix_trick", origins: []string{"https://app.example.com.evil.com"}},
		{name: "prefix_trick", origins: []string{"https://evilapp.example.com"}},
		{name: "path_trick", origins: []string{"https://evil.com/app.example.com"}},
		{name: "path", origins: []string{"https://app.example.com/path"}},
		{name: "userinfo_trick", origins: []string{"https://app.example.com@evil.com"}},
		{name: "trailing_dot", origins: []string{"https://app.example.com."}},
		{name: "two_origins", origins: []string{"https://app.example.com", "https://app.example.com"}},
		{name: "same_origin_other_name", origins: []string{"http://localhost:" + port}},
		// Behind a TLS-terminating proxy the server sees plain http: the
		// public https origin is not its own unless it is listed.
		{name: "public_https_origin_behind_proxy", origins: []string{"https://docs.example.com"}, host: "docs.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("origin-%d", i)
			h := http.Header{}
			if tc.origins != nil {
				h["Origin"] = tc.origins
			}
			if tc.host != "" {
				h.Set("Host", tc.host)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(s.wsURL(id), h)
			if !tc.allowed {
				if err == nil {
					ws.Close()
					t.Fatalf("Origin %q, Host %q: upgraded, want HTTP 403", tc.origins, tc.host)
				}
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("Origin %q: %v, want HTTP 403", tc.origins, err)
				}
				resp.Body.Close()
				must(t, s.call(t, http.MethodGet, "/v1/docs/"+id, nil), http.StatusNotFound)
				return
			}
			if err != nil {
				t.Fatalf("Origin %q, Host %q: %v, want an upgrade", tc.origins, tc.host, err)
			}
			t.Cleanup(func() { ws.Close() })
			r := &raw{t: t, ws: ws}
			r.send(&session.Hello{Version: session.ProtocolVersion, Client: "c", Rev: -1})
			expect[session.Welcome](r)
			must(t, s.call(t, http.MethodGet, "/v1/docs/"+id, nil), http.StatusOK)
		})
	}
}

// TestOpenModeHosts checks the defence against DNS rebinding: in open mode
// the server answers only for IP addresses, localhost and the names it is
// given; with tokens, for any name.
func TestOpenModeHosts(t *testing.T) {
	get := func(s *server, host string) int {
		t.Helper()
		req, err := http.NewRequest("GET", s.http.URL+"/v1/docs", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	open := startServer(t, "", serverOpts{web: web.Config{AllowedHosts: []string{"docs.lan"}}})
	for host, want := range map[string]int{
		"127.0.0.1:8080":    http.StatusOK,
		"localhost:8080":    http.StatusOK,
		"docs.lan:8080":     http.StatusOK,
		"rebound.evil:8080": http.StatusForbidden,
	} {
		if got := get(open, host); got != want {
			t.Errorf("open mode, Host %s: HTTP %d, want %d", host, got, want)
		}
	}
	// A WebSocket for a rebound name is refused before any document is made.
	req, _ := http.NewRequest("GET", open.http.URL+"/v1/docs/rebound/ws", nil)
	req.Host = "rebound.evil"
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if r2, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if r2.Body.Close(); r2.StatusCode != http.StatusForbidden {
		t.Errorf("open mode WebSocket for a rebound name: HTTP %d, want 403", r2.StatusCode)
	}
	if _, err := open.manager.Meta(t.Context(), "rebound"); err == nil {
		t.Error("a refused WebSocket created its document")
	}

	tokens := startVerifyingServer(t, "", authConfig(), serverOpts{})
	if got := get(tokens, "docs.example.com"); got != http.StatusUnauthorized {
		t.Errorf("token mode, any Host: HTTP %d, want 401 (answered, without a token)", got)
	}
}
