package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHealthcheck_answers checks what checkReady makes of each answer.
func TestHealthcheck_answers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":"ready"}`))
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"code":"not_ready","message":"session: server shutting down"}}`))
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken\nstore", http.StatusInternalServerError)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	gone := httptest.NewServer(mux)
	goneURL := gone.URL
	gone.Close()

	for _, tc := range []struct {
		name    string
		url     string
		wantErr []string // nil: want no error
	}{
		{name: "ok", url: srv.URL + "/ok"},
		{name: "no_content", url: srv.URL + "/nocontent"},
		{name: "unavailable", url: srv.URL + "/down", wantErr: []string{"503 Service Unavailable", "not_ready: session: server shutting down"}},
		{name: "text_body", url: srv.URL + "/text", wantErr: []string{"500 Internal Server Error: broken store"}},
		{name: "not_found", url: srv.URL + "/nowhere", wantErr: []string{"404"}},
		{name: "redirect", url: srv.URL + "/moved", wantErr: []string{"302 Found", "redirect to /ok refused"}},
		{name: "unreachable", url: goneURL + "/ok", wantErr: []string{"refused"}},
		{name: "timeout", url: srv.URL + "/slow", wantErr: []string{"deadline exceeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := checkReady(ctx, tc.url)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("checkReady: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("checkReady: nil, want an error")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestHealthcheck_url checks the URL asked: from --url, else from --addr,
// else from COWRITE_ADDR, else serve's default address.
func TestHealthcheck_url(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     string // COWRITE_ADDR; empty: unset
		args    []string
		want    string
		wantErr bool
	}{
		{name: "default", want: "http://127.0.0.1:8080/readyz"},
		{name: "env", env: ":9000", want: "http://127.0.0.1:9000/readyz"},
		{name: "env_host", env: "10.0.0.5:9000", want: "http://10.0.0.5:9000/readyz"},
		{name: "env_any_v4", env: "0.0.0.0:9000", want: "http://127.0.0.1:9000/readyz"},
		{name: "env_any_v6", env: "[::]:9000", want: "http://[::1]:9000/readyz"},
		{name: "flag", args: []string{"--addr", "localhost:7000"}, want: "http://localhost:7000/readyz"},
		{name: "flag_wins", env: ":9000", args: []string{"--addr=:7000"}, want: "http://127.0.0.1:7000/readyz"},
		{name: "url_wins", env: ":9000", args: []string{"--url", "http://cowrite:8080/healthz"}, want: "http://cowrite:8080/healthz"},
		{name: "bad_addr", env: "8080", wantErr: true},
		{name: "bad_url", args: []string{"--url", "cowrite:8080/readyz"}, wantErr: true},
		{name: "bad_timeout", args: []string{"--timeout", "0s"}, wantErr: true},
		{name: "argument", args: []string{"now"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("COWRITE_ADDR", tc.env)
			} else {
				unsetenv(t, "COWRITE_ADDR")
			}
			got, _, err := parseHealthcheck(tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseHealthcheck(%q): %q, want an error", tc.args, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("URL %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHealthcheck_serve runs the real server in this process, configured
// by environment as in a container, and checks that cowrite healthcheck
// with the same environment passes while it serves and fails once it
// stopped.
func TestHealthcheck_serve(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server")
	}
	// A port that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, env := range os.Environ() {
		if name, _, _ := strings.Cut(env, "="); strings.HasPrefix(name, "COWRITE_") {
			unsetenv(t, name)
		}
	}
	t.Setenv("COWRITE_ADDR", addr)
	t.Setenv("COWRITE_DATA", t.TempDir())
	t.Setenv("COWRITE_LOG_LEVEL", "warn")

	served := make(chan error, 1)
	go func() { served <- run([]string{"serve"}) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := run([]string{"healthcheck", "--timeout", "2s"})
		if err == nil {
			break
		}
		select {
		case err := <-served:
			t.Fatalf("serve stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck still fails after 15s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// serve stops on SIGTERM, as under docker stop.
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(syscall.SIGTERM); err != nil {
		t.Skipf("cannot signal this process (%v): the server is left running", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
	err = run([]string{"healthcheck", "--timeout", "2s"})
	if err == nil {
		t.Fatal("healthcheck passes after the server stopped")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the address %s", err, addr)
	}
}

// unsetenv unsets an environment variable for the rest of the test.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value when the test ends
	os.Unsetenv(name)
}
