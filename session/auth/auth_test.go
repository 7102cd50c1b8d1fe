package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secret = []byte("a test secret of thirty-two bytes")
	now    = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

func claims(mod func(*Claims)) *Claims {
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   "u1",
			Issuer:    "cowrite-test",
			Audience:  jwt.ClaimStrings{"cowrite"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		Name:  "Ann",
		Color: "#ff0000",
		Docs:  map[string]any{"readme": "view", "team-*": "edit"},
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t *testing.T, c *Claims, key any) string {
	t.Helper()
	s, err := Sign(c, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t *testing.T, cfg Config) *Verifier {
	t.Helper()
	cfg.Issuer, cfg.Audience, cfg.Now = "cowrite-test", "cowrite", func() time.Time { return now }
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// unsigned builds a token with alg none, by hand.
func unsigned(t *testing.T, c *Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pemPublic(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestVerify(t *testing.T) {
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs := verifier(t, Config{Secret: secret})
	ed := verifier(t, Config{PublicKey: edPub})
	rs := verifier(t, Config{PublicKey: &rsaPriv.PublicKey})
	both := verifier(t, Config{Secret: secret, PublicKey: edPub})
	otherEd, _, _ := ed25519.GenerateKey(rand.Reader)
	edOther := verifier(t, Config{PublicKey: otherEd})

	tests := []struct {
		name  string
		v     *Verifier
		token string
		ok    bool
	}{
		{name: "hs256", v: hs, token: sign(t, claims(nil), secret), ok: true},
		{name: "eddsa", v: ed, token: sign(t, claims(nil), edPriv), ok: true},
		{name: "rs256", v: rs, token: sign(t, claims(nil), rsaPriv), ok: true},
		{name: "both_keys_hs256", v: both, token: sign(t, claims(nil), secret), ok: true},
		{name: "both_keys_eddsa", v: both, token: sign(t, claims(nil), edPriv), ok: true},
		{name: "missing", v: hs, token: ""},
		{name: "garbage", v: hs, token: "not.a.token"},
		{name: "garbage_base64", v: hs, token: "eyJhbGciOiJIUzI1NiJ9.!!!.???"},
		{name: "alg_none", v: hs, token: unsigned(t, claims(nil))},
		{name: "alg_none_eddsa_config", v: ed, token: unsigned(t, claims(nil))},
		{name: "wrong_secret", v: hs, token: sign(t, claims(nil), []byte("another secret entirely, 32 byte"))},
		{name: "hs256_with_ed25519_public_key_pem", v: ed, token: sign(t, claims(nil), pemPublic(t, edPub))},
		{name: "hs256_with_ed25519_public_key_raw", v: ed, token: sign(t, claims(nil), []byte(edPub))},
		{name: "hs256_with_rsa_public_key_pem", v: rs, token: sign(t, claims(nil), pemPublic(t, &rsaPriv.PublicKey))},
		{name: "hs256_with_public_key_both_keys", v: both, token: sign(t, claims(nil), pemPublic(t, edPub))},
		{name: "eddsa_on_hs256_config", v: hs, token: sign(t, claims(nil), edPriv)},
		{name: "rs256_on_eddsa_config", v: ed, token: sign(t, claims(nil), rsaPriv)},
		{name: "eddsa_other_key", v: edOther, token: sign(t, claims(nil), edPriv)},
		{name: "expired", v: hs, token: sign(t, claims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }), secret)},
		{name: "expired_within_leeway", v: hs, token: sign(t, claims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second)) }), secret), ok: true},
		{name: "no_exp", v: hs, token: sign(t, claims(func(c *Claims) { c.ExpiresAt = nil }), secret)},
		{name: "not_yet_valid", v: hs, token: sign(t, claims(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }), secret)},
		{name: "nbf_past", v: hs, token: sign(t, claims(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(-time.Minute)) }), secret), ok: true},
		{name: "wrong_aud", v: hs, token: sign(t, claims(func(c *Claims) { c.Audience = jwt.ClaimStrings{"other"} }), secret)},
		{name: "no_aud", v: hs, token: sign(t, claims(func(c *Claims) { c.Audience = nil }), secret)},
		{name: "wrong_iss", v: hs, token: sign(t, claims(func(c *Claims) { c.Issuer = "evil" }), secret)},
		{name: "no_iss", v: hs, token: sign(t, claims(func(c *Claims) { c.Issuer = "" }), secret)},
		{name: "no_sub", v: hs, token: sign(t, claims(func(c *Claims) { c.Subject = "" }), secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.v.Verify(tt.token)
			if !tt.ok {
				if err == nil {
					t.Fatalf("Verify accepted the token: %+v", id)
				}
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNoToken) {
					t.Fatalf("error %v is neither ErrInvalid nor ErrNoToken", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.User != "u1" || id.Name != "Ann" || id.Color != "#ff0000" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}

// TestVerify_tampered changes the payload of a valid token and keeps its
// signature.
func TestVerify_tampered(t *testing.T) {
	v := verifier(t, Config{Secret: secret})
	tok := sign(t, claims(nil), secret)
	c := claims(func(c *Claims) { c.Docs = map[string]any{"*": "admin"} })
	payload, _ := json.Marshal(c)
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	if _, err := v.Verify(forged); !errors.Is(err, ErrInvalid) {
		t.Fatalf("forged token: err %v", err)
	}
}

func TestNew_noKey(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without keys succeeded")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := New(Config{PublicKey: &small.PublicKey}); err == nil {
		t.Fatal("New took a 1024-bit RSA key")
	}
}

func TestRole(t *testing.T) {
	tests := []struct {
		name string
		docs string // JSON, decoded as a token's claims would be
		doc  string
		want Role
	}{
		{name: "exact_view", docs: `{"readme":"view"}`, doc: "readme", want: RoleView},
		{name: "exact_edit", docs: `{"readme":"edit"}`, doc: "readme", want: RoleEdit},
		{name: "exact_admin", docs: `{"readme":"admin"}`, doc: "readme", want: RoleAdmin},
		{name: "other_doc", docs: `{"readme":"admin"}`, doc: "readme2", want: RoleNone},
		{name: "no_docs", docs: `{}`, doc: "readme", want: RoleNone},
		{name: "false", docs: `{"readme":false}`, doc: "readme", want: RoleNone},
		{name: "string_false", docs: `{"readme":"false"}`, doc: "readme", want: RoleNone},
		{name: "zero", docs: `{"readme":0}`, doc: "readme", want: RoleNone},
		{name: "one", docs: `{"readme":1}`, doc: "readme", want: RoleNone},
		{name: "null", docs: `{"readme":null}`, doc: "readme", want: RoleNone},
		{name: "true", docs: `{"readme":true}`, doc: "readme", want: RoleNone},
		{name: "empty_string", docs: `{"readme":""}`, doc: "readme", want: RoleNone},
		{name: "upper_case", docs: `{"readme":"ADMIN"}`, doc: "readme", want: RoleNone},
		{name: "object", docs: `{"readme":{"role":"admin"}}`, doc: "readme", want: RoleNone},
		{name: "list", docs: `{"readme":["admin"]}`, doc: "readme", want: RoleNone},
		{name: "prefix", docs: `{"team-*":"edit"}`, doc: "team-notes", want: RoleEdit},
		{name: "prefix_no_match", docs: `{"team-*":"edit"}`, doc: "teamnotes", want: RoleNone},
		{name: "prefix_is_not_substring", docs: `{"team-*":"edit"}`, doc: "my-team-notes", want: RoleNone},
		{name: "prefix_empty_suffix", docs: `{"team-*":"edit"}`, doc: "team-", want: RoleEdit},
		{name: "star_alone", docs: `{"*":"view"}`, doc: "anything", want: RoleView},
		{name: "no_star_no_prefix", docs: `{"team-":"edit"}`, doc: "team-notes", want: RoleNone},
		{name: "exact_beats_prefix", docs: `{"team-*":"admin","team-x":"view"}`, doc: "team-x", want: RoleView},
		{name: "longest_prefix_wins", docs: `{"*":"admin","team-*":"view"}`, doc: "team-x", want: RoleView},
		{name: "false_exact_hides_prefix", docs: `{"team-*":"edit","team-x":false}`, doc: "team-x", want: RoleNone},
		{name: "null_prefix", docs: `{"team-*":null}`, doc: "team-x", want: RoleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var docs map[string]any
			if err := json.Unmarshal([]byte(tt.docs), &docs); err != nil {
				t.Fatal(err)
			}
			id := &Identity{User: "u", docs: docs}
			if got := id.Role(tt.doc); got != tt.want {
				t.Fatalf("Role(%q) = %q, want %q", tt.doc, got, tt.want)
			}
		})
	}
}

// TestRole_throughToken checks that role values survive signing and
// verifying as they were written.
func TestRole_throughToken(t *testing.T) {
	v := verifier(t, Config{Secret: secret})
	for _, val := range []any{false, "false", 0, nil} {
		tok := sign(t, claims(func(c *Claims) { c.Docs = map[string]any{"readme": val} }), secret)
		id, err := v.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if r := id.Role("readme"); r != RoleNone {
			t.Errorf("role claim %#v gave %q", val, r)
		}
	}
	tok := sign(t, claims(nil), secret)
	id, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !id.Can("team-a", RoleEdit) || id.Can("team-a", RoleAdmin) || !id.Can("readme", RoleView) || id.Can("readme", RoleEdit) {
		t.Fatalf("roles from a token: team-a %q, readme %q", id.Role("team-a"), id.Role("readme"))
	}
}

func TestVerify_badColorAndName(t *testing.T) {
	v := verifier(t, Config{Secret: secret})
	tok := sign(t, claims(func(c *Claims) { c.Color = "red;background:url(x)"; c.Name = "" }), secret)
	id, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Color != "" || id.Name != "u1" {
		t.Fatalf("identity %+v", id)
	}
}

func TestParseKeysPEM(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := ParsePublicKeyPEM(pemPublic(t, pub))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pk, err := ParsePrivateKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, Config{PublicKey: k})
	if _, err := v.Verify(sign(t, claims(nil), pk)); err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKeyPEM([]byte("nope")); err == nil {
		t.Fatal("parsed garbage")
	}
}
