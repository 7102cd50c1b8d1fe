package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminAddr checks that the admin listener is off unless asked for,
// by flag or environment.
func TestAdminAddr(t *testing.T) {
	t.Setenv("COWRITE_ADMIN_ADDR", "")
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want string
	}{
		{name: "default_off"},
		{name: "flag", args: []string{"--admin-addr", "127.0.0.1:6060"}, want: "127.0.0.1:6060"},
		{name: "env", env: "127.0.0.1:6061", want: "127.0.0.1:6061"},
		{name: "flag_wins", env: "127.0.0.1:6061", args: []string{"--admin-addr=127.0.0.1:6062"}, want: "127.0.0.1:6062"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("COWRITE_ADMIN_ADDR", tc.env)
			c, err := parseServe(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if c.adminAddr != tc.want {
				t.Errorf("admin address %q, want %q", c.adminAddr, tc.want)
			}
		})
	}
}

// TestAdminHandler checks that the admin mux serves pprof.
func TestAdminHandler(t *testing.T) {
	srv := httptest.NewServer(adminHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(b.String(), "goroutine") {
		t.Errorf("GET /debug/pprof/goroutine: %d %.100q", resp.StatusCode, b.String())
	}
}
