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
	s := startServer(t, "", serverOpts{web: web.Config{AllowedOrigins: []string{"https://app.example.com"}}})
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
