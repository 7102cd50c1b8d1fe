package web

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	srv := &Server{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}}}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"untrusted_peer_ignores_header", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted_peer", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed_left_entry", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"two_trusted_hops", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"header_lines", "10.1.2.3:5000", []string{"1.1.1.1", "198.51.100.1"}, "198.51.100.1"},
		{"all_trusted", "10.1.2.3:5000", []string{"10.4.4.4"}, "10.4.4.4"},
		{"no_header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"garbage", "10.1.2.3:5000", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"ipv6_proxy", "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"mapped_peer", "[::ffff:203.0.113.9]:5000", nil, "203.0.113.9"},
	}
	for _, tt := range tests {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := srv.clientIP(r); got != tt.want {
			t.Errorf("%s: clientIP = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := (&Server{}).clientIP(&http.Request{RemoteAddr: "10.1.2.3:1", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: clientIP = %q", got)
	}
}
