package web

import (
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

// Config configures the HTTP surface. The zero value of every field but
// Manager means its default, never "unlimited".
type Config struct {
	// Manager runs the documents. Required.
	Manager *session.Manager

	// Logger receives request logs. Default: no logs.
	Logger *zerolog.Logger

	// MaxFrame is the largest WebSocket frame, and the largest REST request
	// body, in bytes. Default 1 MiB.
	MaxFrame int64

	// SendBuffer is how many frames may wait to be written to one client;
	// a client further behind is disconnected with session.CloseTooSlow.
	// Default 256.
	SendBuffer int

	// MaxConns is the most WebSockets the server holds open; one more is
	// refused at the upgrade with HTTP 503 too_many_connections. Default
	// 10000.
	MaxConns int

	// MaxConnsPerIP is, in open mode (no Verifier), the most WebSockets
	// one client address holds open; one more is refused at the upgrade
	// with HTTP 429 too_many_connections. With a Verifier connections are
	// counted per user instead (session.Config.MaxConnsPerUser), since a
	// reverse proxy makes every user one address. Default 100.
	MaxConnsPerIP int

	// AllowedOrigins lists the origins ("https://app.example.com") whose
	// pages may open WebSockets besides the server's own, normalised as
	// ParseOrigins does (call it first to refuse bad entries: here an
	// entry it cannot read allows nothing). Default none: same-origin
	// pages and clients that send no Origin.
	AllowedOrigins []string

	// MaxPendingPerIP is the most WebSockets one client address may hold
	// open before their hello is accepted (in both modes); one more is
	// refused at the upgrade with HTTP 429 too_many_connections. Default
	// 50.
	MaxPendingPerIP int

	// AllowedHosts are the host names, besides localhost and IP
	// addresses, that an open-mode server answers for (host.go): the
	// names people reach it by on a network. With a Verifier any name is
	// answered.
	AllowedHosts []string

	// WriteRate is how many REST writes (creating a document, submitting
	// an op, deleting) one caller may make a second, in bursts of as
	// many: a token's user, or in open mode a client address. One more is
	// answered 429 rate_limited with Retry-After. Default 50.
	WriteRate int

	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// is believed: a request from one of them counts against the address
	// it forwards for, in the per-address limits. Default none: every
	// request is its TCP peer's.
	TrustedProxies []netip.Prefix

	// WriteWait bounds one frame's write. Default 10s.
	WriteWait time.Duration

	// PongWait is how long a silent client stays connected; the server
	// pings it at nine tenths of that. Default 60s.
	PongWait time.Duration

	// Ready reports whether the server can serve: /readyz answers 503 with
	// its error. Default: ready.
	Ready func(ctx context.Context) error

	// Verifier checks the bearer token of every /v1 request: listing shows
	// only the documents the user may view; reading needs view, writing
	// and creating edit, deleting admin; a document out of reach is
	// answered as a missing one. Pass the same value to
	// session.Config.Verifier. Nil means open mode: no token is needed.
	Verifier *auth.Verifier

	// Revoke stores a revocation durably, before the server applies it
	// to the Verifier's list and closes the sessions it matches (POST
	// /v1/admin/revoke). Nil: revocation is not offered (501).
	Revoke func(ctx context.Context, rev auth.Revocation) error

	// Backup writes a consistent backup of the whole store to w (GET
	// /v1/admin/backup, for server admins, one at a time; the body ends
	// with the trailer BackupTrailer). Nil: online backup is not offered
	// (501).
	Backup func(ctx context.Context, w io.Writer) error

	// Metrics is served at GET /metrics; pass the same value to
	// session.Config.Metrics. Default: new Metrics that only the Go
	// runtime and process figures move.
	Metrics *Metrics
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		nop := zerolog.Nop()
		c.Logger = &nop
	}
	if c.MaxFrame <= 0 {
		c.MaxFrame = 1 << 20
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 10000
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = 100
	}
	if c.MaxPendingPerIP <= 0 {
		c.MaxPendingPerIP = 50
	}
	if c.WriteRate <= 0 {
		c.WriteRate = 50
	}
	if c.SendBuffer <= 0 {
		c.SendBuffer = 256
	}
	if c.WriteWait <= 0 {
		c.WriteWait = 10 * time.Second
	}
	if c.PongWait <= 0 {
		c.PongWait = 60 * time.Second
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Ready == nil {
		c.Ready = func(context.Context) error { return nil }
	}
	return c
}
