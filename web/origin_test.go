package web

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseOrigins(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
		err  string // a part of the error, "" for none
	}{
		{name: "none"},
		{name: "plain", in: []string{"https://app.example.com"}, want: []string{"https://app.example.com"}},
		{name: "upper_case", in: []string{"HTTPS://App.Example.COM"}, want: []string{"https://app.example.com"}},
		{name: "trailing_slash", in: []string{"https://app.example.com/"}, want: []string{"https://app.example.com"}},
		{name: "default_https_port", in: []string{"https://app.example.com:443"}, want: []string{"https://app.example.com"}},
		{name: "default_http_port", in: []string{"http://app.example.com:80"}, want: []string{"http://app.example.com"}},
		{name: "other_port", in: []string{"https://app.example.com:8443"}, want: []string{"https://app.example.com:8443"}},
		{name: "http_on_443", in: []string{"http://app.example.com:443"}, want: []string{"http://app.example.com:443"}},
		{name: "leading_zero_port", in: []string{"http://localhost:03000"}, want: []string{"http://localhost:3000"}},
		{name: "ipv4", in: []string{"http://127.0.0.1:8080"}, want: []string{"http://127.0.0.1:8080"}},
		{name: "ipv6", in: []string{"http://[0:0::1]:8080"}, want: []string{"http://[::1]:8080"}},
		{name: "duplicates", in: []string{"https://a.example", "https://A.example:443/", "https://b.example"},
			want: []string{"https://a.example", "https://b.example"}},

		{name: "empty", in: []string{""}, err: "scheme://host"},
		{name: "no_scheme", in: []string{"app.example.com"}, err: "scheme://host"},
		{name: "null", in: []string{"null"}, err: "scheme://host"},
		{name: "other_scheme", in: []string{"ftp://app.example.com"}, err: "http or https"},
		{name: "opaque", in: []string{"https:app.example.com"}, err: "scheme://host"},
		{name: "path", in: []string{"https://app.example.com/app"}, err: "no path"},
		{name: "two_slashes", in: []string{"https://app.example.com//"}, err: "no path"},
		{name: "query", in: []string{"https://app.example.com?x=1"}, err: "no path"},
		{name: "fragment", in: []string{"https://app.example.com#x"}, err: "no path"},
		{name: "userinfo", in: []string{"https://app.example.com@evil.com"}, err: "no path"},
		{name: "percent", in: []string{"https://%61pp.example.com"}, err: "no path"},
		{name: "wildcard", in: []string{"https://*.example.com"}, err: "wildcards"},
		{name: "star", in: []string{"*"}, err: "wildcards"},
		{name: "trailing_dot", in: []string{"https://app.example.com."}, err: "trailing dot"},
		{name: "empty_label", in: []string{"https://app..example.com"}, err: "host"},
		{name: "unicode_host", in: []string{"https://bücher.example"}, err: "punycode"},
		{name: "space", in: []string{"https://app.example.com; frame-src x"}, err: "host"},
		{name: "no_host", in: []string{"https://:8443"}, err: "host"},
		{name: "empty_port", in: []string{"https://app.example.com:"}, err: "port"},
		{name: "port_zero", in: []string{"https://app.example.com:0"}, err: "port"},
		{name: "port_too_big", in: []string{"https://app.example.com:65536"}, err: "port"},
		{name: "port_not_number", in: []string{"https://app.example.com:https"}, err: "port"},
		{name: "ipv6_zone", in: []string{"http://[fe80::1%25eth0]"}, err: "no path"},
		{name: "ipv6_unclosed", in: []string{"http://[::1"}, err: "host"},
		{name: "ipv4_in_brackets", in: []string{"http://[127.0.0.1]"}, err: "host"},
		{name: "one_bad_of_two", in: []string{"https://a.example", "https://b.example/x"}, err: `"https://b.example/x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOrigins(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseOrigins(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOrigins(%q): %v", tc.in, err)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("ParseOrigins(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOriginChecker(t *testing.T) {
	oc := newOriginChecker([]string{"https://app.example.com", "http://[::1]:3000", "not an origin"})
	for _, tc := range []struct {
		name    string
		host    string   // the request's Host; default 127.0.0.1:8080
		tls     bool     // the request came over TLS
		origins []string // its Origin headers
		want    bool
	}{
		{name: "no_origin", want: true},
		{name: "allowed", origins: []string{"https://app.example.com"}, want: true},
		{name: "allowed_upper_case", origins: []string{"HTTPS://APP.EXAMPLE.COM"}, want: true},
		{name: "allowed_default_port", origins: []string{"https://app.example.com:443"}, want: true},
		{name: "allowed_ipv6", origins: []string{"http://[0::1]:3000"}, want: true},
		{name: "same_origin", origins: []string{"http://127.0.0.1:8080"}, want: true},
		{name: "same_origin_tls", host: "docs.example.com", tls: true, origins: []string{"https://docs.example.com"}, want: true},
		{name: "same_origin_tls_default_port", host: "docs.example.com:443", tls: true, origins: []string{"https://docs.example.com"}, want: true},
		{name: "same_origin_host_case", host: "Docs.Example.com:8080", origins: []string{"http://docs.example.com:8080"}, want: true},

		{name: "null", origins: []string{"null"}},
		{name: "empty", origins: []string{""}},
		{name: "other_port", origins: []string{"https://app.example.com:8443"}},
		{name: "other_scheme", origins: []string{"http://app.example.com"}},
		{name: "suffix_trick", origins: []string{"https://app.example.com.evil.com"}},
		{name: "prefix_trick", origins: []string{"https://evilapp.example.com"}},
		{name: "subdomain", origins: []string{"https://x.app.example.com"}},
		{name: "path_trick", origins: []string{"https://evil.com/app.example.com"}},
		{name: "path", origins: []string{"https://app.example.com/path"}},
		{name: "trailing_slash", origins: []string{"https://app.example.com/"}},
		{name: "userinfo_trick", origins: []string{"https://app.example.com@evil.com"}},
		{name: "trailing_dot", origins: []string{"https://app.example.com."}},
		{name: "percent_encoded", origins: []string{"https://%61pp.example.com"}},
		{name: "invalid_entry_allows_nothing", origins: []string{"not an origin"}},
		{name: "two_origins", origins: []string{"https://app.example.com", "https://app.example.com"}},
		{name: "same_origin_other_name", origins: []string{"http://localhost:8080"}},
		{name: "same_origin_other_scheme", origins: []string{"https://127.0.0.1:8080"}},
		{name: "same_origin_plain_http_behind_tls", host: "docs.example.com", origins: []string{"https://docs.example.com"}},
		{name: "same_origin_trailing_dot", origins: []string{"http://127.0.0.1.:8080"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/docs/a/ws", nil)
			r.Host = "127.0.0.1:8080"
			if tc.host != "" {
				r.Host = tc.host
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.origins != nil {
				r.Header["Origin"] = tc.origins
			}
			if got := oc.check(r); got != tc.want {
				t.Fatalf("check(Host %s, Origin %q) = %v, want %v", r.Host, tc.origins, got, tc.want)
			}
		})
	}
}
