package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/session/auth"
)

// mintCmd runs the token command and returns what it printed.
func mintCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := capture(t, &os.Stdout, func() error { return token(args) })
	if err != nil {
		t.Fatalf("token %v: %v", args, err)
	}
	return strings.TrimSpace(out)
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubFile := filepath.Join(dir, "pub.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)

	nop := zerolog.Nop()
	for _, tt := range []struct {
		name string
		mint []string
		cfg  serveConfig
	}{
		{name: "hs256", mint: []string{"--secret-file", secretFile}, cfg: serveConfig{jwtSecretFile: secretFile}},
		{name: "eddsa", mint: []string{"--key-file", keyFile}, cfg: serveConfig{jwtPublicKeyFile: pubFile}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := mintCmd(t, append(tt.mint, "--sub", "u1", "--name", "Ann", "--color", "#00ff00",
				"--doc", "team-*=edit", "--doc", "readme=view", "--issuer", "me", "--audience", "cw", "--ttl", "5m")...)
			tt.cfg.jwtIssuer, tt.cfg.jwtAudience = "me", "cw"
			v, err := verifier(tt.cfg, &nop)
			if err != nil {
				t.Fatal(err)
			}
			id, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if id.User != "u1" || id.Name != "Ann" || id.Color != "#00ff00" || id.Role("team-x") != auth.RoleEdit || id.Role("readme") != auth.RoleView || id.Role("other") != auth.RoleNone {
				t.Fatalf("identity %+v", id)
			}
		})
	}
	if err := token([]string{"--secret-file", secretFile, "--sub", "u", "--doc", "x=false"}); err == nil {
		t.Error("a role of false was taken")
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("tiny"), 0o600)
	if err := token([]string{"--secret-file", short, "--sub", "u"}); err == nil {
		t.Error("a short secret was taken")
	}
	if v, err := verifier(serveConfig{}, &nop); v != nil || err != nil {
		t.Errorf("no key: %v, %v; want open mode", v, err)
	}
}

// TestTokenLink checks --link: a sign-in link whose fragment holds a token
// the server accepts, with its sid, and a refused link that is not http.
func TestTokenLink(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	out := mintCmd(t, "--secret-file", secretFile, "--sub", "ann", "--doc", "notes=edit", "--sid", "login-1",
		"--link", "https://docs.example.com/d/notes")
	page, tok, ok := strings.Cut(out, "#token=")
	if !ok || page != "https://docs.example.com/d/notes" {
		t.Fatalf("link %q", out)
	}
	nop := zerolog.Nop()
	v, err := verifier(serveConfig{jwtSecretFile: secretFile}, &nop)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Verify(tok)
	if err != nil || id.User != "ann" || id.Session != "login-1" || !id.Can("notes", auth.RoleEdit) {
		t.Fatalf("the link's token: %+v, %v", id, err)
	}
	if err := token([]string{"--secret-file", secretFile, "--sub", "ann", "--link", "javascript:alert(1)"}); err == nil {
		t.Error("a javascript: link was accepted")
	}
}
