package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

var authSecret = []byte("e2e secret, thirty-two bytes long")

const (
	authIssuer   = "cowrite-e2e"
	authAudience = "cowrite"
)

// authConfig returns the config of a verifier of the tokens mint signs
// with authSecret.
func authConfig() auth.Config {
	return auth.Config{Secret: authSecret, Issuer: authIssuer, Audience: authAudience}
}

// startVerifyingServer starts a server like startServer whose WebSocket
// and REST API both verify tokens with a verifier made from c.
func startVerifyingServer(t testing.TB, dir string, c auth.Config, o serverOpts) *server {
	t.Helper()
	v, err := auth.New(c)
	if err != nil {
		t.Fatal(err)
	}
	o.session.Verifier, o.web.Verifier = v, v
	return startServer(t, dir, o)
}

// startAuthServer starts a server that verifies tokens signed with
// authSecret.
func startAuthServer(t *testing.T) *server {
	t.Helper()
	return startVerifyingServer(t, "", authConfig(), serverOpts{})
}

// mint mints a token for user sub with the given roles, valid for an
// hour; mod, if any, changes the claims first.
func mint(t testing.TB, sub, name string, docs map[string]any, mod func(*auth.Claims)) string {
	t.Helper()
	now := time.Now()
	c := &auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: sub, Issuer: authIssuer, Audience: jwt.ClaimStrings{authAudience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Name: name, Color: "#112233", Docs: docs,
	}
	if mod != nil {
		mod(c)
	}
	s, err := auth.Sign(c, authSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuth_Hello checks that a hello without a good token is refused with
// 4001, and that a good token without access to the document gets the
// same answer as a missing document.
func TestAuth_Hello(t *testing.T) {
	s := startAuthServer(t)
	owner, _ := s.rawJoin(t, "secret-plan", session.Hello{Client: "owner", Rev: -1, Token: mint(t, "owner", "Owner", map[string]any{"secret-plan": "admin"}, nil)})
	owner.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "hidden")})
	expect[session.Ack](owner)

	alg := func(m jwt.SigningMethod, key any) string {
		c := &auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "x", Issuer: authIssuer, Audience: jwt.ClaimStrings{authAudience},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Docs: map[string]any{"*": "admin"}}
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name      string
		doc       string
		token     string
		code      string
		closeCode int
	}{
		{name: "missing", doc: "secret-plan", token: "", code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "garbage", doc: "secret-plan", token: "garbage", code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "alg_none", doc: "secret-plan", token: alg(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "hs384", doc: "secret-plan", token: alg(jwt.SigningMethodHS384, authSecret), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "wrong_secret", doc: "secret-plan", token: alg(jwt.SigningMethodHS256, []byte("not the secret")), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "expired", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"*": "admin"}, func(c *auth.Claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
		}), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "not_yet_valid", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"*": "admin"}, func(c *auth.Claims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour))
		}), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "wrong_aud", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"*": "admin"}, func(c *auth.Claims) {
			c.Audience = jwt.ClaimStrings{"another-app"}
		}), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		{name: "wrong_iss", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"*": "admin"}, func(c *auth.Claims) {
			c.Issuer = "someone-else"
		}), code: session.CodeUnauthorized, closeCode: session.CloseUnauthorized},
		// A valid token for another document looks like a missing document.
		{name: "other_doc_existing", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"my-notes": "admin"}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		{name: "other_doc_missing", doc: "no-such-doc", token: mint(t, "u", "U", map[string]any{"my-notes": "admin"}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		{name: "role_false", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"secret-plan": false}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		{name: "role_string_false", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"secret-plan": "false"}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		{name: "role_zero", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"secret-plan": 0}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		{name: "role_null", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"secret-plan": nil}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		{name: "prefix_other", doc: "secret-plan", token: mint(t, "u", "U", map[string]any{"secret-*x": "edit", "plan*": "edit"}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
		// A reader cannot create a document by opening it.
		{name: "view_missing", doc: "not-yet", token: mint(t, "u", "U", map[string]any{"not-yet": "view"}, nil), code: session.CodeNotFound, closeCode: session.CloseNotFound},
	}
	var notFound []session.Error
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.rawDial(t, tt.doc)
			r.send(&session.Hello{Version: session.ProtocolVersion, Client: "c-" + tt.name, Rev: -1, Token: tt.token, Name: "Mallory"})
			code, errs := r.closed()
			if code != tt.closeCode || len(errs) != 1 || errs[0].Code != tt.code {
				t.Fatalf("close %d, errors %+v; want close %d and one %s", code, errs, tt.closeCode, tt.code)
			}
			if tt.code == session.CodeNotFound {
				notFound = append(notFound, errs[0])
			}
		})
	}
	for _, e := range notFound {
		if e != notFound[0] {
			t.Errorf("not_found answers differ: %+v and %+v", e, notFound[0])
		}
	}
	if _, err := s.manager.Meta(t.Context(), "not-yet"); err == nil {
		t.Error("a reader's hello created the document")
	}
	if _, err := s.manager.Meta(t.Context(), "no-such-doc"); err == nil {
		t.Error("a hello without access created the document")
	}
	if d, _ := s.content(t, "secret-plan"); d.Text() != "hidden" {
		t.Errorf("content %q", d.Text())
	}
}

// TestAuth_ViewOnly checks that a reader's ops and presence are refused
// and that nobody ever sees the reader.
func TestAuth_ViewOnly(t *testing.T) {
	s := startAuthServer(t)
	editor, w := s.rawJoin(t, "readme", session.Hello{Client: "editor", Rev: -1, Token: mint(t, "ed", "Ed", map[string]any{"readme": "edit"}, nil)})
	if w.Access != session.AccessEdit {
		t.Fatalf("editor's access %q", w.Access)
	}
	editor.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "hello")})
	expect[session.Ack](editor)

	viewer, vw := s.rawJoin(t, "readme", session.Hello{Client: "viewer", Rev: -1, Token: mint(t, "vi", "Vi", map[string]any{"read*": "view", "readme-2": "edit"}, nil)})
	if vw.Access != session.AccessView {
		t.Fatalf("viewer's access %q, want view", vw.Access)
	}
	if len(vw.Presence) != 1 || vw.Presence[0].Client != "editor" {
		t.Fatalf("viewer's welcome presence %+v", vw.Presence)
	}
	viewer.send(&session.Submit{Seq: 1, Base: 1, Delta: ins(0, "defaced ")})
	if e := expect[session.Error](viewer); e.Code != session.CodeReadOnly || e.Seq != 1 {
		t.Fatalf("viewer's op: %+v", e)
	}
	viewer.send(&session.SetPresence{Sel: &session.Selection{Index: 1, Length: 2}})
	if e := expect[session.Error](viewer); e.Code != session.CodeReadOnly {
		t.Fatalf("viewer's presence: %+v", e)
	}
	// The viewer is still connected, and sees the editor's ops. The
	// editor reads everything: nothing about the viewer may come.
	editor.send(&session.Submit{Seq: 2, Base: 1, Delta: ins(0, ">")})
	for {
		m := editor.read()
		if _, ok := m.(*session.Ack); ok {
			break
		}
		t.Fatalf("editor got %T %+v before its ack", m, m)
	}
	if op := expect[session.Remote](viewer); op.Client != "editor" || op.Rev != 2 {
		t.Fatalf("viewer got op %+v", op)
	}
	viewer.ws.Close()

	// A third user joins: the first thing the editor sees is the
	// newcomer's presence, never the viewer's join, presence or leave.
	s.rawJoin(t, "readme", session.Hello{Client: "third", Rev: -1, Token: mint(t, "th", "Th", map[string]any{"readme": "admin"}, nil)})
	for {
		switch m := editor.read().(type) {
		case *session.Presence:
			if m.Client != "third" {
				t.Fatalf("editor saw presence %+v", m)
			}
		case *session.Leave:
			t.Fatalf("editor saw leave %+v", m)
		default:
			t.Fatalf("editor got %T %+v", m, m)
		}
		break
	}
	if d, _ := s.content(t, "readme"); d.Text() != ">hello" {
		t.Fatalf("content %q", d.Text())
	}
}

// TestAuth_IdentityFromToken checks that the name and colour in presence
// and ops come from the token, not from hello.
func TestAuth_IdentityFromToken(t *testing.T) {
	s := startAuthServer(t)
	watcher, _ := s.rawJoin(t, "team-notes", session.Hello{Client: "watcher", Rev: -1, Token: mint(t, "w", "Watcher", map[string]any{"team-*": "edit"}, nil)})
	ann, _ := s.rawJoin(t, "team-notes", session.Hello{Client: "ann", Rev: -1, Name: "The CEO", Color: "#000000",
		Token: mint(t, "ann-id", "Ann", map[string]any{"team-*": "edit"}, nil)})
	p := expect[session.Presence](watcher)
	if p.Client != "ann" || p.Name != "Ann" || p.Color != "#112233" {
		t.Fatalf("presence %+v, want Ann #112233 from the token", p)
	}
	ann.send(&session.Submit{Seq: 1, Base: 0, Delta: ins(0, "x")})
	expect[session.Ack](ann)
	op := expect[session.Remote](watcher)
	if op.Author != "Ann" {
		t.Fatalf("op author %q, want Ann", op.Author)
	}
	ops, err := s.manager.Ops(t.Context(), "team-notes", 0, 1)
	if err != nil || len(ops) != 1 || ops[0].Author != "Ann" {
		t.Fatalf("stored ops %+v, %v", ops, err)
	}

	// Another user cannot take over Ann's connection with her client id.
	thief := s.rawDial(t, "team-notes")
	thief.send(&session.Hello{Version: session.ProtocolVersion, Client: "ann", Rev: -1, Token: mint(t, "mallory", "Mallory", map[string]any{"team-*": "edit"}, nil)})
	if code, errs := thief.closed(); code != session.CloseUnauthorized || len(errs) != 1 || errs[0].Code != session.CodeUnauthorized {
		t.Fatalf("takeover by another user: close %d, errors %+v", code, errs)
	}
	ann.send(&session.Submit{Seq: 2, Base: 1, Delta: ins(0, "y")})
	if a := expect[session.Ack](ann); a.Seq != 2 {
		t.Fatalf("ann's ack %+v", a)
	}
	// Ann herself may take over her own connection (a reconnect).
	s.rawJoin(t, "team-notes", session.Hello{Client: "ann", Rev: -1, Token: mint(t, "ann-id", "Ann", map[string]any{"team-*": "edit"}, nil)})
	if code, _ := ann.closed(); code != session.CloseNormal {
		t.Fatalf("ann's old connection closed with %d, want %d", code, session.CloseNormal)
	}
}

// TestAuth_REST checks the REST API's roles: a document out of reach
// answers exactly as a missing one.
func TestAuth_REST(t *testing.T) {
	s := startAuthServer(t)
	admin := mint(t, "root", "Root", map[string]any{"*": "admin"}, nil)
	editor := mint(t, "ed", "Ed", map[string]any{"team-*": "edit", "readme": "view"}, nil)
	viewer := mint(t, "vi", "Vi", map[string]any{"team-a": "view", "readme": "false", "secret": 0}, nil)
	nobody := mint(t, "no", "No", map[string]any{"other": "admin"}, nil)

	for _, id := range []string{"team-a", "readme", "secret"} {
		must(t, s.callAs(t, admin, "POST", "/v1/docs", map[string]any{"id": id, "text": id + " text"}), http.StatusCreated)
	}
	list := func(token string) []string {
		var out struct{ Docs []struct{ ID string } }
		s.callAs(t, token, "GET", "/v1/docs", nil).json(t, &out)
		var ids []string
		for _, d := range out.Docs {
			ids = append(ids, d.ID)
		}
		slices.Sort(ids)
		return ids
	}
	for _, tt := range []struct {
		name, token string
		want        []string
	}{
		{"admin", admin, []string{"readme", "secret", "team-a"}},
		{"editor", editor, []string{"readme", "team-a"}},
		{"viewer", viewer, []string{"team-a"}},
		{"nobody", nobody, nil},
	} {
		if got := list(tt.token); !slices.Equal(got, tt.want) {
			t.Errorf("%s lists %v, want %v", tt.name, got, tt.want)
		}
	}

	// Without a token, or with a bad one: 401 everywhere.
	for _, tok := range []string{"", "garbage", mint(t, "x", "X", map[string]any{"*": "admin"}, func(c *auth.Claims) {
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
	})} {
		for _, path := range []string{"/v1/docs", "/v1/docs/team-a", "/v1/docs/team-a/ops"} {
			mustFail(t, s.callAs(t, tok, "GET", path, nil), http.StatusUnauthorized, session.CodeUnauthorized)
		}
		mustFail(t, s.callAs(t, tok, "DELETE", "/v1/docs/team-a", nil), http.StatusUnauthorized, session.CodeUnauthorized)
	}

	missing := s.callAs(t, admin, "GET", "/v1/docs/no-such-doc", nil)
	must(t, missing, http.StatusNotFound)
	same := func(what string, r reply) {
		t.Helper()
		if r.status != missing.status || !bytes.Equal(r.body, missing.body) {
			t.Errorf("%s: HTTP %d %s; want the answer for a missing document, HTTP %d %s", what, r.status, r.body, missing.status, missing.body)
		}
	}
	same("viewer reads secret (0)", s.callAs(t, viewer, "GET", "/v1/docs/secret", nil))
	same("viewer reads readme (\"false\")", s.callAs(t, viewer, "GET", "/v1/docs/readme", nil))
	same("viewer reads readme ops", s.callAs(t, viewer, "GET", "/v1/docs/readme/ops", nil))
	same("nobody reads team-a", s.callAs(t, nobody, "GET", "/v1/docs/team-a", nil))
	same("viewer edits team-a", s.callAs(t, viewer, "POST", "/v1/docs/team-a/ops", map[string]any{"rev": 1, "delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}}))
	same("editor edits readme", s.callAs(t, editor, "POST", "/v1/docs/readme/ops", map[string]any{"rev": 1, "delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}}))
	same("editor deletes team-a", s.callAs(t, editor, "DELETE", "/v1/docs/team-a", nil))
	same("viewer creates team-b", s.callAs(t, viewer, "POST", "/v1/docs", map[string]any{"id": "team-b"}))
	same("editor creates other", s.callAs(t, editor, "POST", "/v1/docs", map[string]any{"id": "other"}))

	must(t, s.callAs(t, viewer, "GET", "/v1/docs/team-a", nil), http.StatusOK)
	must(t, s.callAs(t, viewer, "GET", "/v1/docs/team-a/ops", nil), http.StatusOK)
	must(t, s.callAs(t, editor, "POST", "/v1/docs", map[string]any{"id": "team-b"}), http.StatusCreated)
	must(t, s.callAs(t, editor, "POST", "/v1/docs/team-a/ops", map[string]any{"rev": 0, "author": "Root", "delta": map[string]any{"ops": []any{map[string]any{"insert": "x"}}}}), http.StatusOK)
	var ops struct{ Ops []struct{ Author string } }
	s.callAs(t, viewer, "GET", "/v1/docs/team-a/ops?from=0", nil).json(t, &ops)
	if len(ops.Ops) != 1 || ops.Ops[0].Author != "Ed" {
		t.Errorf("ops %+v, want one by Ed (from the token, not the body)", ops.Ops)
	}
	must(t, s.callAs(t, admin, "DELETE", "/v1/docs/team-a", nil), http.StatusNoContent)
	if d, _ := s.content(t, "readme"); d.Text() != "readme text" {
		t.Errorf("readme %q", d.Text())
	}
}

// TestAuth_AlgorithmConfusion checks, against a server that verifies EdDSA
// and RS256 tokens with public keys, that a token signed with HS256 using
// a public key as the secret (its PEM or raw bytes) is refused, while a
// token signed with the private key gets in.
func TestAuth_AlgorithmConfusion(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	s := startVerifyingServer(t, "", auth.Config{PublicKey: pub, Issuer: authIssuer, Audience: authAudience}, serverOpts{})
	claims := func() *auth.Claims {
		return &auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "x", Issuer: authIssuer, Audience: jwt.ClaimStrings{authAudience},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Docs: map[string]any{"*": "admin"}}
	}
	for _, key := range [][]byte{pubPEM, []byte(pub)} {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims()).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		r := s.rawDial(t, "notes")
		r.send(&session.Hello{Version: session.ProtocolVersion, Client: "c", Rev: -1, Token: tok})
		if code, _ := r.closed(); code != session.CloseUnauthorized {
			t.Fatalf("HS256 signed with the public key: close %d, want %d", code, session.CloseUnauthorized)
		}
		if got := s.callAs(t, tok, "GET", "/v1/docs", nil); got.status != http.StatusUnauthorized {
			t.Fatalf("REST with HS256 signed with the public key: %d, want 401", got.status)
		}
	}
	good, err := auth.Sign(claims(), priv)
	if err != nil {
		t.Fatal(err)
	}
	s.rawJoin(t, "notes", session.Hello{Client: "c", Rev: -1, Token: good})
}
