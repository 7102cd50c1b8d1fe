package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// ErrNoToken is returned by Verify for an empty token.
var ErrNoToken = errors.New("auth: no token")

// ErrInvalid wraps every reason a token is refused.
var ErrInvalid = errors.New("auth: token refused")

// DefaultLeeway is how far exp and nbf may be off when Config.Leeway is zero.
const DefaultLeeway = 30 * time.Second

// Config configures a Verifier. At least one of Secret and PublicKey is
// required.
type Config struct {
	// Secret is the HS256 shared secret. Empty means HS256 is refused.
	Secret []byte

	// PublicKey is an ed25519.PublicKey (EdDSA) or an *rsa.PublicKey
	// (RS256). Nil means both are refused.
	PublicKey crypto.PublicKey

	// Issuer, when set, must equal the token's iss.
	Issuer string

	// Audience, when set, must be among the token's aud.
	Audience string

	// Leeway is the clock skew allowed on exp and nbf. Default
	// DefaultLeeway; negative means none.
	Leeway time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Revoked lists revoked users and sessions, whose tokens Verify
	// refuses with ErrRevoked. Nil revokes nothing.
	Revoked *Revocations
}

// A Verifier checks tokens against its keys and claims.
type Verifier struct {
	cfg     Config
	methods []string
	parser  *jwt.Parser
	leeway  time.Duration
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{cfg: cfg}
	if v.cfg.Revoked == nil {
		v.cfg.Revoked = &Revocations{}
	}
	if len(cfg.Secret) > 0 {
		v.methods = append(v.methods, jwt.SigningMethodHS256.Alg())
	}
	switch k := cfg.PublicKey.(type) {
	case nil:
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("auth: bad ed25519 public key")
		}
		v.methods = append(v.methods, jwt.SigningMethodEdDSA.Alg())
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("auth: RSA public key under 2048 bits")
		}
		v.methods = append(v.methods, jwt.SigningMethodRS256.Alg())
	default:
		return nil, fmt.Errorf("auth: unsupported public key type %T", cfg.PublicKey)
	}
	if len(v.methods) == 0 {
		return nil, errors.New("auth: no secret and no public key")
	}
	leeway := cfg.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	v.leeway = leeway
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Revoked reports whether id's token has been revoked since it was
// verified: by session, or as its user's token issued before the
// revocation or within the leeway after it.
func (v *Verifier) Revoked(id *Identity) bool { return v.cfg.Revoked.revoked(id, v.leeway) }

// Revoke adds rev to the verifier's revocations.
func (v *Verifier) Revoke(rev Revocation) { v.cfg.Revoked.Add(rev) }

// Methods returns the algorithms v accepts.
func (v *Verifier) Methods() []string { return append([]string(nil), v.methods...) }

// key picks the key of the token's own algorithm, so that no token is
// checked with a key of another kind.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if t.Method.Alg() == jwt.SigningMethodHS256.Alg() && len(v.cfg.Secret) > 0 {
			return v.cfg.Secret, nil
		}
	case *jwt.SigningMethodEd25519:
		if k, ok := v.cfg.PublicKey.(ed25519.PublicKey); ok {
			return k, nil
		}
	case *jwt.SigningMethodRSA:
		if k, ok := v.cfg.PublicKey.(*rsa.PublicKey); ok && t.Method.Alg() == jwt.SigningMethodRS256.Alg() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("algorithm %s not allowed", t.Method.Alg())
}

// Verify checks token and returns who it names. It fails with ErrNoToken
// for an empty token and with an error wrapping ErrInvalid for any other
// refusal.
func (v *Verifier) Verify(token string) (*Identity, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	var c Claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.key); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.Subject == "" || len(c.Subject) > 256 {
		return nil, fmt.Errorf("%w: sub missing or too long", ErrInvalid)
	}
	id := &Identity{User: c.Subject, Name: cleanName(c.Name), Session: c.SessionID, docs: c.Docs}
	if id.Session == "" || len(id.Session) > 256 {
		id.Session = c.ID
	}
	if c.IssuedAt != nil {
		id.IssuedAt = c.IssuedAt.Time
	}
	id.Deadline = c.ExpiresAt.Time.Add(v.leeway) // exp is required
	if id.Name == "" {
		id.Name = cleanName(c.Subject)
	}
	if colorRe.MatchString(c.Color) {
		id.Color = c.Color
	}
	if v.Revoked(id) {
		return nil, ErrRevoked
	}
	return id, nil
}

var colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// maxName is the most runes of a display name kept.
const maxName = 64

func cleanName(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) > maxName {
		s = string([]rune(s)[:maxName])
	}
	return s
}

// Claims is the payload of a Cowrite token.
type Claims struct {
	jwt.RegisteredClaims
	Name  string `json:"name,omitempty"`
	Color string `json:"color,omitempty"`
	// SessionID is the login session the token belongs to: the tokens
	// an issuer mints one after another for one sign-in share it, so
	// revoking the session revokes them all. Without it a token is its
	// own session, named by its jti.
	SessionID string `json:"sid,omitempty"`
	// Docs maps a document id, or a prefix pattern ending in "*", to a
	// role: "view", "edit" or "admin". Values are kept as decoded, and
	// anything but those three strings grants nothing.
	Docs map[string]any `json:"docs,omitempty"`
}

// Sign returns c signed with key: a []byte secret (HS256), an
// ed25519.PrivateKey (EdDSA) or an *rsa.PrivateKey (RS256).
func Sign(c *Claims, key any) (string, error) {
	var m jwt.SigningMethod
	switch key.(type) {
	case []byte:
		m = jwt.SigningMethodHS256
	case ed25519.PrivateKey:
		m = jwt.SigningMethodEdDSA
	case *rsa.PrivateKey:
		m = jwt.SigningMethodRS256
	default:
		return "", fmt.Errorf("auth: unsupported signing key type %T", key)
	}
	return jwt.NewWithClaims(m, c).SignedString(key)
}

// ParsePublicKeyPEM reads an Ed25519 or RSA public key from PEM (PKIX
// "PUBLIC KEY", or PKCS#1 "RSA PUBLIC KEY").
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("auth: no PEM block")
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("auth: PEM block %q is not a public key", blk.Type)
}

// ParsePrivateKeyPEM reads an Ed25519 or RSA private key from PEM (PKCS#8
// "PRIVATE KEY", or PKCS#1 "RSA PRIVATE KEY").
func ParsePrivateKeyPEM(b []byte) (crypto.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("auth: no PEM block")
	}
	switch blk.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse private key: %w", err)
		}
		return k, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse private key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("auth: PEM block %q is not a private key", blk.Type)
}
