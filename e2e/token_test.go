package e2e

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

// startTokenServer starts a server whose verifier allows no leeway, so that
// a token's exp is the moment its connections must close.
func startTokenServer(t *testing.T, dir string) *server {
	t.Helper()
	c := authConfig()
	c.Leeway = -1
	return startVerifyingServer(t, dir, c, serverOpts{})
}

// expiresIn sets a token's exp d from now. JWT times are whole seconds, so
// the token expires between d-1s and d from now.
func expiresIn(d time.Duration) func(*auth.Claims) {
	return func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(d)) }
}

// TestToken_Expiry checks that a connection whose token expires is closed
// with token_expired and 4011, and that until then it works.
func TestToken_Expiry(t *testing.T) {
	s := startTokenServer(t, "")
	tok := mint(t, "ann", "Ann", map[string]any{"notes": "edit"}, expiresIn(2*time.Second))
	start := time.Now()
	r, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-1", Rev: -1, Token: tok})
	r.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "before expiry")})
	expect[session.Ack](r)
	code, errs := r.closed()
	if code != session.CloseTokenExpired || len(errs) != 1 || errs[0].Code != session.CodeTokenExpired {
		t.Fatalf("close %d, errors %+v; want %d and one %s", code, errs, session.CloseTokenExpired, session.CodeTokenExpired)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("closed %v after joining, token lived at most 2s", d)
	}
	// The expired token cannot come back.
	r2 := s.rawDial(t, "notes")
	r2.send(&session.Hello{Version: session.ProtocolVersion, Client: "ann-1", Rev: -1, Token: tok})
	if code, _ := r2.closed(); code != session.CloseUnauthorized {
		t.Fatalf("hello with the expired token: close %d, want %d", code, session.CloseUnauthorized)
	}
	if d, _ := s.content(t, "notes"); d.Text() != "before expiry" {
		t.Errorf("content %q", d.Text())
	}
}

// TestToken_Refresh checks the in-band refresh: a fresh token for the same
// user keeps the connection open past the first token's exp; a token of
// another user, one giving other access, or garbage, end it.
func TestToken_Refresh(t *testing.T) {
	s := startTokenServer(t, "")
	edit := map[string]any{"notes": "edit"}
	r, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-1", Rev: -1, Token: mint(t, "ann", "Ann", edit, expiresIn(2*time.Second))})
	fresh := mint(t, "ann", "Ann", edit, expiresIn(time.Hour))
	r.send(&session.Auth{Token: fresh})
	a := expect[session.Authed](r)
	if want := time.Now().Add(time.Hour).Unix(); a.Exp < want-5 || a.Exp > want+5 {
		t.Errorf("authed exp %d, want about %d", a.Exp, want)
	}
	time.Sleep(2500 * time.Millisecond) // past the first token's exp
	r.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "still here")})
	expect[session.Ack](r)

	tests := []struct {
		name      string
		token     string
		code      string
		closeCode int
	}{
		{"another_user", mint(t, "bob", "Bob", edit, nil), session.CodeUnauthorized, session.CloseUnauthorized},
		{"garbage", "garbage", session.CodeUnauthorized, session.CloseUnauthorized},
		{"expired", mint(t, "ann", "Ann", edit, expiresIn(-time.Minute)), session.CodeUnauthorized, session.CloseUnauthorized},
		{"view_only", mint(t, "ann", "Ann", map[string]any{"notes": "view"}, nil), session.CodeAccessChange, session.CloseResync},
		{"no_role", mint(t, "ann", "Ann", map[string]any{"notes": "false"}, nil), session.CodeNotFound, session.CloseNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-x" + string(rune('a'+i)), Rev: -1, Token: fresh})
			r.send(&session.Auth{Token: tt.token})
			code, errs := r.closed()
			if code != tt.closeCode || len(errs) != 1 || errs[0].Code != tt.code {
				t.Fatalf("close %d, errors %+v; want %d and one %s", code, errs, tt.closeCode, tt.code)
			}
		})
	}
	// An auth before hello is a protocol violation.
	r3 := s.rawDial(t, "notes")
	r3.send(&session.Auth{Token: fresh})
	if code, _ := r3.closed(); code != session.CloseProtocol {
		t.Fatalf("auth before hello: close %d, want %d", code, session.CloseProtocol)
	}
}

// TestToken_Revoke checks revocation mid-session: an admin revokes a user,
// and that user's sockets close at once while everyone else's stay; the
// revoked token is refused over WebSocket and REST, a newer one is let in,
// and the revocation survives a restart. Revoking one session closes only
// that one.
func TestToken_Revoke(t *testing.T) {
	dir := t.TempDir()
	s := startTokenServer(t, dir)
	admin := mint(t, "root", "Root", map[string]any{"*": "admin"}, nil)
	edit := map[string]any{"notes": "edit", "plans": "edit"}
	sid := func(id string) func(*auth.Claims) { return func(c *auth.Claims) { c.ID = id } }
	annTok := mint(t, "ann", "Ann", edit, sid("ann-session"))
	ann1, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-1", Rev: -1, Token: annTok})
	ann2, _ := s.rawJoin(t, "plans", session.Hello{Client: "ann-2", Rev: -1, Token: annTok})
	bob, _ := s.rawJoin(t, "notes", session.Hello{Client: "bob-1", Rev: -1, Token: mint(t, "bob", "Bob", edit, sid("bob-a"))})
	bob2, _ := s.rawJoin(t, "notes", session.Hello{Client: "bob-2", Rev: -1, Token: mint(t, "bob", "Bob", edit, sid("bob-b"))})

	// Who may revoke: only a server admin.
	for _, tt := range []struct {
		name   string
		token  string
		status int
	}{
		{"no_token", "", 401},
		{"editor", annTok, 403},
		{"admin_of_one_doc", mint(t, "x", "X", map[string]any{"notes": "admin"}, nil), 403},
		{"star_true", mint(t, "x", "X", map[string]any{"*": true}, nil), 403},
		{"star_Admin", mint(t, "x", "X", map[string]any{"*": "Admin"}, nil), 403},
		{"prefix_admin", mint(t, "x", "X", map[string]any{"no*": "admin"}, nil), 403},
	} {
		if got := s.callAs(t, tt.token, "POST", "/v1/admin/revoke", map[string]string{"user": "ann"}); got.status != tt.status {
			t.Errorf("%s: revoke answered %d %s, want %d", tt.name, got.status, got.body, tt.status)
		}
	}
	if got := s.callAs(t, admin, "POST", "/v1/admin/revoke", map[string]string{"user": "ann", "session": "x"}); got.status != 400 {
		t.Errorf("revoke of a user and a session at once: %d, want 400", got.status)
	}

	start := time.Now()
	if got := s.callAs(t, admin, "POST", "/v1/admin/revoke", map[string]string{"user": "ann"}); got.status != 200 {
		t.Fatalf("revoke: %d %s", got.status, got.body)
	}
	for _, r := range []*raw{ann1, ann2} {
		code, errs := r.closed()
		if code != session.CloseRevoked || len(errs) != 1 || errs[0].Code != session.CodeRevoked {
			t.Fatalf("ann: close %d, errors %+v; want %d and one %s", code, errs, session.CloseRevoked, session.CodeRevoked)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ann's sockets closed %v after the revocation", d)
	}
	bob.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "bob carries on")})
	expect[session.Ack](bob)

	// The revoked token is refused everywhere; a newer one gets in.
	refused := func(s *server, tok string) {
		t.Helper()
		r := s.rawDial(t, "notes")
		r.send(&session.Hello{Version: session.ProtocolVersion, Client: "ann-3", Rev: -1, Token: tok})
		if code, _ := r.closed(); code != session.CloseUnauthorized {
			t.Fatalf("hello with a revoked token: close %d, want %d", code, session.CloseUnauthorized)
		}
		if got := s.callAs(t, tok, "GET", "/v1/docs/notes", nil); got.status != 401 {
			t.Fatalf("REST with a revoked token: %d, want 401", got.status)
		}
	}
	refused(s, annTok)
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // iat has whole seconds
	newer := mint(t, "ann", "Ann", edit, nil)
	r, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-4", Rev: -1, Token: newer})
	r.ws.Close()

	// One session: bob-b goes, bob-a stays.
	if got := s.callAs(t, admin, "POST", "/v1/admin/revoke", map[string]string{"session": "bob-b"}); got.status != 200 {
		t.Fatalf("revoke session: %d %s", got.status, got.body)
	}
	if code, _ := bob2.closed(); code != session.CloseRevoked {
		t.Fatalf("bob's second session: close %d, want %d", code, session.CloseRevoked)
	}
	bob.send(&session.Submit{Seq: 2, Base: 1, Delta: ins(0, "!")})
	expect[session.Ack](bob)
	bob.ws.Close()

	// After a restart, with a verifier that has never heard of them, the
	// revocations still hold.
	s.stop()
	s = startTokenServer(t, dir)
	refused(s, annTok)
	r = s.rawDial(t, "notes")
	r.send(&session.Hello{Version: session.ProtocolVersion, Client: "bob-2", Rev: -1, Token: mint(t, "bob", "Bob", edit, sid("bob-b"))})
	if code, _ := r.closed(); code != session.CloseUnauthorized {
		t.Fatalf("revoked session after a restart: close %d, want %d", code, session.CloseUnauthorized)
	}
	s.rawJoin(t, "notes", session.Hello{Client: "ann-5", Rev: -1, Token: newer})
}

// TestToken_OpenModeHasNoAdmin checks that an open-mode server offers no
// admin endpoints, and says it is open.
func TestToken_OpenModeHasNoAdmin(t *testing.T) {
	s := startServer(t, "", serverOpts{})
	if got := s.call(t, "POST", "/v1/admin/revoke", map[string]string{"user": "ann"}); got.status != 404 {
		t.Errorf("revoke in open mode: %d, want 404", got.status)
	}
	var info struct{ Auth string }
	s.call(t, "GET", "/v1/info", nil).json(t, &info)
	if info.Auth != "open" {
		t.Errorf("info says %q, want open", info.Auth)
	}
}

// TestToken_RefreshFarExpiry checks that a token expiring beyond what a
// protocol integer holds is still answered, with the largest exp.
func TestToken_RefreshFarExpiry(t *testing.T) {
	s := startTokenServer(t, "")
	edit := map[string]any{"notes": "edit"}
	r, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-1", Rev: -1, Token: mint(t, "ann", "Ann", edit, nil)})
	far := mint(t, "ann", "Ann", edit, func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Unix(1<<60, 0)) })
	r.send(&session.Auth{Token: far})
	if a := expect[session.Authed](r); a.Exp != 1<<53-1 {
		t.Fatalf("authed exp %d, want 2^53-1", a.Exp)
	}
}

// TestToken_RevokeSessionAcrossRefresh checks that revoking a session ends
// a connection that began with it and has refreshed since, whether the
// refreshed token shares the session's sid or is a token of its own.
func TestToken_RevokeSessionAcrossRefresh(t *testing.T) {
	s := startTokenServer(t, "")
	admin := mint(t, "root", "Root", map[string]any{"*": "admin"}, nil)
	edit := map[string]any{"notes": "edit"}
	claims := func(jti, sid string) func(*auth.Claims) {
		return func(c *auth.Claims) { c.ID, c.SessionID = jti, sid }
	}
	// A jti-only session, refreshed to another jti.
	a, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-1", Rev: -1, Token: mint(t, "ann", "Ann", edit, claims("t-1", ""))})
	a.send(&session.Auth{Token: mint(t, "ann", "Ann", edit, claims("t-2", ""))})
	expect[session.Authed](a)
	// A sign-in session whose tokens share a sid.
	b, _ := s.rawJoin(t, "notes", session.Hello{Client: "bob-1", Rev: -1, Token: mint(t, "bob", "Bob", edit, claims("u-1", "login-7"))})
	b.send(&session.Auth{Token: mint(t, "bob", "Bob", edit, claims("u-2", "login-7"))})
	expect[session.Authed](b)

	for _, tt := range []struct {
		session string
		r       *raw
	}{{"t-1", a}, {"login-7", b}} {
		if got := s.callAs(t, admin, "POST", "/v1/admin/revoke", map[string]string{"session": tt.session}); got.status != 200 {
			t.Fatalf("revoke %s: %d %s", tt.session, got.status, got.body)
		}
		if code, _ := tt.r.closed(); code != session.CloseRevoked {
			t.Fatalf("after revoking %s: close %d, want %d", tt.session, code, session.CloseRevoked)
		}
	}
	// Every token of the sign-in is refused, whatever its jti.
	r := s.rawDial(t, "notes")
	r.send(&session.Hello{Version: session.ProtocolVersion, Client: "bob-2", Rev: -1, Token: mint(t, "bob", "Bob", edit, claims("u-3", "login-7"))})
	if code, _ := r.closed(); code != session.CloseUnauthorized {
		t.Fatalf("a later token of the revoked sign-in: close %d, want %d", code, session.CloseUnauthorized)
	}
}

// TestToken_RefreshFlood checks that token refreshes are held to a rate: a
// connection that sends them in a burst gets rate_limited, then 4029, and
// one that sends refused messages in a burst is closed the same way.
func TestToken_RefreshFlood(t *testing.T) {
	s := startVerifyingServer(t, "", authConfig(), serverOpts{session: session.Config{OpRate: 5}})
	tok := mint(t, "ann", "Ann", map[string]any{"notes": "edit"}, nil)
	r, _ := s.rawJoin(t, "notes", session.Hello{Client: "ann-1", Rev: -1, Token: tok})
	for range 10 {
		r.send(&session.Auth{Token: tok})
	}
	code, errs := r.closed()
	limited := 0
	for _, e := range errs {
		if e.Code == session.CodeRateLimited {
			limited++
		}
	}
	if code != session.CloseRateLimited || limited < 2 {
		t.Fatalf("refresh flood: close %d, errors %+v; want rate_limited errors and %d", code, errs, session.CloseRateLimited)
	}

	r, _ = s.rawJoin(t, "notes", session.Hello{Client: "ann-2", Rev: -1, Token: tok})
	bad, err := msgpack.Marshal(map[string]any{"t": "op", "seq": 1, "rev": "not a number", "delta": map[string]any{"ops": []any{}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if r.ws.WriteMessage(websocket.BinaryMessage, bad) != nil {
			break // closed already
		}
	}
	if code, _ := r.closed(); code != session.CloseRateLimited {
		t.Fatalf("bad message flood: close %d, want %d", code, session.CloseRateLimited)
	}
}

// TestToken_JoinRate checks that one user's joins are held to a rate,
// across documents: the join over it gets rate_limited and 4029, another
// user joins all the same, and the rate comes back with time.
func TestToken_JoinRate(t *testing.T) {
	s := startVerifyingServer(t, "", authConfig(), serverOpts{session: session.Config{JoinRate: 2}})
	edit := map[string]any{"*": "edit"}
	ann, bob := mint(t, "ann", "Ann", edit, nil), mint(t, "bob", "Bob", edit, nil)
	s.rawJoin(t, "a", session.Hello{Client: "ann-1", Rev: -1, Token: ann})
	s.rawJoin(t, "b", session.Hello{Client: "ann-2", Rev: -1, Token: ann})
	r := s.rawDial(t, "c")
	r.send(&session.Hello{Version: session.ProtocolVersion, Client: "ann-3", Rev: -1, Token: ann})
	if code, errs := r.closed(); code != session.CloseRateLimited || len(errs) != 1 || errs[0].Code != session.CodeRateLimited {
		t.Fatalf("ann's third join at once: close %d, errors %+v; want %d and rate_limited", code, errs, session.CloseRateLimited)
	}
	s.rawJoin(t, "c", session.Hello{Client: "bob-1", Rev: -1, Token: bob})
	time.Sleep(600 * time.Millisecond) // two joins a second
	s.rawJoin(t, "c", session.Hello{Client: "ann-3", Rev: -1, Token: ann})
}
