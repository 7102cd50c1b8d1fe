package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session/auth"
)

// minSecret is the shortest HS256 secret accepted, in bytes.
const minSecret = 32

// readSecret reads an HS256 secret from path, without trailing white
// space.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	b = bytes.TrimRight(b, " \t\r\n")
	if len(b) < minSecret {
		return nil, fmt.Errorf("secret in %s is %d bytes; need at least %d (try: head -c 48 /dev/urandom | base64 > %s)", path, len(b), minSecret, path)
	}
	return b, nil
}

// verifier builds the token verifier from serve's flags, or returns nil
// for open mode when no key is configured.
func verifier(c serveConfig, log *zerolog.Logger) (*auth.Verifier, error) {
	if c.jwtSecretFile == "" && c.jwtPublicKeyFile == "" {
		log.Warn().Msg("OPEN MODE: no --jwt-secret-file or --jwt-public-key-file, so anyone who can reach this server can read, edit and create every document, and names are not checked; use it only for local use")
		return nil, nil
	}
	cfg := auth.Config{Issuer: c.jwtIssuer, Audience: c.jwtAudience}
	if c.jwtSecretFile != "" {
		s, err := readSecret(c.jwtSecretFile)
		if err != nil {
			return nil, err
		}
		cfg.Secret = s
	}
	if c.jwtPublicKeyFile != "" {
		b, err := os.ReadFile(c.jwtPublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read public key: %w", err)
		}
		k, err := auth.ParsePublicKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.jwtPublicKeyFile, err)
		}
		cfg.PublicKey = k
	}
	v, err := auth.New(cfg)
	if err != nil {
		return nil, err
	}
	ev := log.Info().Strs("algorithms", v.Methods())
	if c.jwtIssuer == "" {
		ev = ev.Bool("any_issuer", true)
	}
	if c.jwtAudience == "" {
		ev = ev.Bool("any_audience", true)
	}
	ev.Msg("tokens required")
	return v, nil
}

// docRoles collects repeated --doc PATTERN=ROLE flags.
type docRoles map[string]any

func (d docRoles) String() string { return fmt.Sprint(map[string]any(d)) }

func (d docRoles) Set(s string) error {
	pat, role, ok := strings.Cut(s, "=")
	if !ok || pat == "" {
		return errors.New("want PATTERN=ROLE, e.g. team-*=edit")
	}
	switch r := auth.Role(role); r {
	case auth.RoleView, auth.RoleEdit, auth.RoleAdmin:
		d[pat] = role
		return nil
	}
	return fmt.Errorf("role %q: want view, edit or admin", role)
}

// token mints a token for scripts and for the built-in editor.
func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	secretFile := fs.String("secret-file", "", "file holding the HS256 secret (the server's --jwt-secret-file)")
	keyFile := fs.String("key-file", "", "PEM private key, Ed25519 (EdDSA) or RSA (RS256), whose public key the server has in --jwt-public-key-file")
	sub := fs.String("sub", "", "user id (required)")
	name := fs.String("name", "", "display name (default: the user id)")
	color := fs.String("color", "", "colour, #rrggbb")
	issuer := fs.String("issuer", "", "iss claim (the server's --jwt-issuer)")
	audience := fs.String("audience", "", "aud claim (the server's --jwt-audience)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	link := fs.String("link", "", "print a sign-in link to this page of the server (https://docs.example.com/ or .../d/ID) instead of the bare token: the token goes after #token=, which browsers never send to the server")
	sid := fs.String("sid", "", "sid claim: the sign-in session the token belongs to, shared by the tokens minted for one sign-in so that revoking it revokes them all (default: none; the token's random jti names it alone)")
	docs := docRoles{}
	fs.Var(docs, "doc", "PATTERN=ROLE, repeatable: a document id or a prefix ending in * and view, edit or admin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected argument %q", fs.Arg(0))
	}
	if *sub == "" {
		return errors.New("token: --sub is required")
	}
	if *ttl <= 0 {
		return errors.New("token: --ttl must be positive")
	}
	var key any
	switch {
	case (*secretFile == "") == (*keyFile == ""):
		return errors.New("token: give --secret-file or --key-file")
	case *secretFile != "":
		s, err := readSecret(*secretFile)
		if err != nil {
			return err
		}
		key = s
	default:
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("read key: %w", err)
		}
		if key, err = auth.ParsePrivateKeyPEM(b); err != nil {
			return fmt.Errorf("%s: %w", *keyFile, err)
		}
	}
	now := time.Now()
	c := &auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject: *sub, Issuer: *issuer, ID: rand.Text(),
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(*ttl)),
		},
		Name: *name, Color: *color, Docs: docs, SessionID: *sid,
	}
	if *audience != "" {
		c.Audience = jwt.ClaimStrings{*audience}
	}
	s, err := auth.Sign(c, key)
	if err != nil {
		return err
	}
	if *link != "" {
		u, err := url.Parse(*link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("token: --link %q: want an http or https URL of the server", *link)
		}
		u.Fragment, u.RawFragment = "token="+s, ""
		s = u.String()
	}
	fmt.Println(s)
	return nil
}

// loadRevocations gives the verifier the revocations stored in store.
func loadRevocations(ctx context.Context, store *persist.Store, v *auth.Verifier, log *zerolog.Logger) error {
	revs, err := store.Revocations(ctx)
	if err != nil {
		return fmt.Errorf("read revocations: %w", err)
	}
	for _, r := range revs {
		v.Revoke(auth.Revocation{User: r.User, Session: r.Session, At: r.At})
	}
	if len(revs) > 0 {
		log.Info().Int("revocations", len(revs)).Msg("revoked users and sessions loaded")
	}
	return nil
}
