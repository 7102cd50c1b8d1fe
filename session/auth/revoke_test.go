package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestServerAdmin(t *testing.T) {
	tests := []struct {
		docs map[string]any
		want bool
	}{
		{map[string]any{"*": "admin"}, true},
		{map[string]any{"*": "edit"}, false},
		{map[string]any{"*": "Admin"}, false},
		{map[string]any{"*": true}, false},
		{map[string]any{"*": "true"}, false},
		{map[string]any{"*": 1}, false},
		{map[string]any{"*": nil}, false},
		{map[string]any{"a*": "admin", "b": "admin"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := (&Identity{docs: tt.docs}).ServerAdmin(); got != tt.want {
			t.Errorf("ServerAdmin with docs %v = %v", tt.docs, got)
		}
	}
	if (*Identity)(nil).ServerAdmin() {
		t.Error("a nil identity is an admin")
	}
}

func TestRevocations(t *testing.T) {
	at := now
	var r Revocations
	if r.Revoked(&Identity{User: "ann", IssuedAt: at.Add(-time.Hour)}) {
		t.Fatal("revoked before any revocation")
	}
	r.Add(Revocation{User: "ann", At: at})
	r.Add(Revocation{User: "ann", At: at.Add(-time.Hour)}) // earlier: ignored
	r.Add(Revocation{Session: "s-1", At: at})
	tests := []struct {
		name string
		id   *Identity
		want bool
	}{
		{"issued_before", &Identity{User: "ann", IssuedAt: at.Add(-time.Minute)}, true},
		{"issued_at", &Identity{User: "ann", IssuedAt: at}, true},
		{"no_iat", &Identity{User: "ann"}, true},
		{"issued_after", &Identity{User: "ann", IssuedAt: at.Add(time.Second)}, false},
		{"other_user", &Identity{User: "bob", IssuedAt: at.Add(-time.Minute)}, false},
		{"session", &Identity{User: "bob", Session: "s-1", IssuedAt: at.Add(time.Hour)}, true},
		{"other_session", &Identity{User: "bob", Session: "s-2"}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := r.Revoked(tt.id); got != tt.want {
			t.Errorf("%s: Revoked = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (*Revocations)(nil).Revoked(&Identity{User: "ann"}) {
		t.Error("a nil list revoked something")
	}
	for _, bad := range []Revocation{{}, {User: "a", Session: "b"}} {
		if bad.Check() == nil {
			t.Errorf("%+v passed Check", bad)
		}
	}
}

// TestVerifyRevoked checks that the verifier refuses revoked tokens with
// ErrRevoked, and reports the identity's session, iat and deadline.
func TestVerifyRevoked(t *testing.T) {
	v, err := New(Config{Secret: secret, Now: func() time.Time { return now }, Leeway: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := &Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ann", ID: "s-9",
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	tok, err := Sign(c, secret)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Session != "s-9" || !id.IssuedAt.Equal(now.Add(-time.Minute)) || !id.Deadline.Equal(now.Add(time.Hour+10*time.Second)) {
		t.Errorf("identity %+v", id)
	}
	v.Revoke(Revocation{Session: "s-9", At: now})
	if _, err := v.Verify(tok); err != ErrRevoked {
		t.Fatalf("revoked session: %v, want ErrRevoked", err)
	}
	if !v.Revoked(id) {
		t.Error("Revoked(id) = false after the revocation")
	}
}

// TestVerifyRevokedSkew checks that a user's revocation also refuses the
// tokens issued within the verifier's leeway after it, which an issuer
// whose clock runs ahead may have minted before it, and not later ones.
func TestVerifyRevokedSkew(t *testing.T) {
	v, err := New(Config{Secret: secret, Now: func() time.Time { return now }, Leeway: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v.Revoke(Revocation{User: "ann", At: now})
	for _, tt := range []struct {
		iat  time.Time
		want error
	}{
		{now.Add(5 * time.Second), ErrRevoked},
		{now.Add(10 * time.Second), ErrRevoked},
		{now.Add(11 * time.Second), nil},
	} {
		c := &Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: "ann",
			IssuedAt: jwt.NewNumericDate(tt.iat), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
		tok, err := Sign(c, secret)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); err != tt.want {
			t.Errorf("token issued %v after the revocation: %v, want %v", tt.iat.Sub(now), err, tt.want)
		}
	}
}
