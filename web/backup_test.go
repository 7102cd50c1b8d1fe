package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

var backupSecret = []byte("web backup test secret, 32 bytes+")

func backupToken(t *testing.T, docs map[string]any) string {
	t.Helper()
	c := &auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ops", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Docs: docs}
	s, err := auth.Sign(c, backupSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// backupServer serves New(Config) with backup as Config.Backup, with
// tokens unless open.
func backupServer(t *testing.T, open bool, backup func(context.Context, io.Writer) error) *httptest.Server {
	t.Helper()
	cfg := Config{Manager: session.NewManager(session.Config{Store: metaStore{}}), Backup: backup}
	if !open {
		v, err := auth.New(auth.Config{Secret: backupSecret})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Verifier = v
	}
	ts := httptest.NewServer(New(cfg))
	t.Cleanup(ts.Close)
	return ts
}

// getBackup GETs /v1/admin/backup with token and reads the whole body.
func getBackup(t *testing.T, base, token string) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/admin/backup", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func errorCode(body string) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// TestBackup checks who may take an online backup, and what the answer
// says when the backup succeeds, fails before its first byte, or fails
// midway (the trailer: the status was sent long before).
func TestBackup(t *testing.T) {
	admin := backupToken(t, map[string]any{"*": "admin"})
	whole := func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "COWRITE-BACKUP\n...end")
		return err
	}
	tests := []struct {
		name    string
		open    bool
		token   string
		backup  func(context.Context, io.Writer) error
		status  int
		code    string // error code, when status is not 200
		trailer string // trailer, when status is 200
		body    string
	}{
		{name: "admin", token: admin, backup: whole, status: 200, trailer: "ok", body: "COWRITE-BACKUP\n...end"},
		{name: "no_token", backup: whole, status: 401, code: session.CodeUnauthorized},
		{name: "bad_token", token: "not.a.token", backup: whole, status: 401, code: session.CodeUnauthorized},
		{name: "editor", token: backupToken(t, map[string]any{"*": "edit"}), backup: whole, status: 403, code: "forbidden"},
		{name: "doc_admin", token: backupToken(t, map[string]any{"notes": "admin"}), backup: whole, status: 403, code: "forbidden"},
		{name: "open_mode", open: true, backup: whole, status: 404, code: "no_admin"},
		{name: "not_offered", token: admin, status: 501, code: "not_offered"},
		{name: "fails_at_once", token: admin, backup: func(context.Context, io.Writer) error { return errors.New("disk on fire") }, status: 500, code: "backup_failed"},
		{name: "fails_midway", token: admin, backup: func(_ context.Context, w io.Writer) error {
			io.WriteString(w, "COWRITE-BACKUP\n")
			return errors.New("disk on fire")
		}, status: 200, trailer: "error", body: "COWRITE-BACKUP\n"},
	}
	// New is slow under the race detector: one server of each kind, whose
	// backup is the case's.
	var current atomic.Pointer[func(context.Context, io.Writer) error]
	backup := func(ctx context.Context, w io.Writer) error { return (*current.Load())(ctx, w) }
	servers := map[string]*httptest.Server{
		"token": backupServer(t, false, backup),
		"open":  backupServer(t, true, backup),
		"none":  backupServer(t, false, nil),
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := servers["token"]
			switch {
			case tc.open:
				ts = servers["open"]
			case tc.backup == nil:
				ts = servers["none"]
			}
			current.Store(&tc.backup)
			resp, body, err := getBackup(t, ts.URL, tc.token)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				if code := errorCode(body); code != tc.code {
					t.Errorf("error code %q, want %q: %s", code, tc.code, body)
				}
				return
			}
			if got := resp.Trailer.Get(BackupTrailer); got != tc.trailer {
				t.Errorf("trailer %s %q, want %q", BackupTrailer, got, tc.trailer)
			}
			if body != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type %q", ct)
			}
			cd := resp.Header.Get("Content-Disposition")
			if !strings.HasPrefix(cd, `attachment; filename="cowrite-`) || !strings.HasSuffix(cd, `Z.backup"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
		})
	}
}

// TestBackup_oneAtATime checks that a second backup while one runs is
// refused with 409 backup_running, and that the next one after it is
// taken.
func TestBackup_oneAtATime(t *testing.T) {
	admin := backupToken(t, map[string]any{"*": "admin"})
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	ts := backupServer(t, false, func(ctx context.Context, w io.Writer) error {
		if calls.Add(1) == 1 { // the first waits while the second is refused
			close(started)
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err := io.WriteString(w, "backup")
		return err
	})
	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/admin/backup", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- resp
	}()
	<-started
	resp, body, _ := getBackup(t, ts.URL, admin)
	if resp.StatusCode != http.StatusConflict || errorCode(body) != "backup_running" {
		t.Errorf("second backup: %d %s, want 409 backup_running", resp.StatusCode, body)
	}
	close(release)
	if r := <-done; r == nil || r.StatusCode != 200 || r.Trailer.Get(BackupTrailer) != "ok" {
		t.Fatalf("first backup: %+v", r)
	}
	if resp, body, _ := getBackup(t, ts.URL, admin); resp.StatusCode != 200 || body != "backup" {
		t.Errorf("backup after the first ended: %d %q", resp.StatusCode, body)
	}
}
