package session

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/session/auth"
)

// Config configures a Manager. The zero value of every field but Store means
// its default, never "unlimited" or "none".
type Config struct {
	// Store keeps documents durably. Required.
	Store Store

	// Logger receives the manager's logs. Default: no logs.
	Logger *zerolog.Logger

	// HelloTimeout is how long a connection may take to send hello.
	// Default 10s.
	HelloTimeout time.Duration

	// IdleUnload is how long a room stays loaded with nobody in it.
	// Default 30s.
	IdleUnload time.Duration

	// SnapshotEvery is how many ops a room sequences between snapshots.
	// Default 1000.
	SnapshotEvery int

	// Window is how many recent ops a room keeps in memory. Default
	// doc.DefaultWindow.
	Window int

	// MaxCatchUp is the most ops a welcome carries; a client further behind
	// gets a snapshot and must rebase. Default 5000.
	MaxCatchUp int

	// PresenceInterval is the least time between two presence broadcasts of
	// one client: updates in between are coalesced. Default 50ms.
	PresenceInterval time.Duration

	// Batch is the most messages a room handles between two commits.
	// Default 512.
	Batch int

	// Verifier checks the token in every hello and gives the user's name,
	// colour and role on the document. Nil means open mode: no token is
	// needed, everyone may edit every document, and clients name
	// themselves.
	Verifier *auth.Verifier

	// MaxDeltaOps is the most ops one delta may hold; a larger one is
	// refused with CodeTooLarge. Default 10000.
	MaxDeltaOps int

	// MaxInsertBytes is the most bytes of inserted text one op message
	// may carry; more is refused with CodeTooLarge. Default 1 MiB.
	MaxInsertBytes int

	// MaxDocLen is the longest a document may grow, in UTF-16 code units
	// (embeds count 1); a change that would make it longer is refused
	// with CodeTooLarge. Default 4 Mi (4194304).
	MaxDocLen int

	// OpRate is how many ops a second one connection may send, in bursts
	// of as many. An op over it is refused with CodeRateLimited (the
	// client resends it later); a connection that sends five times as
	// many for long is closed with CloseRateLimited. Default 200.
	OpRate int

	// PresenceRate is how many presence updates a second one connection
	// may send, in bursts of as many. Updates over it are coalesced: the
	// latest is shown a little later. A connection that sends five times
	// as many for long gets CodeRateLimited and is closed with
	// CloseRateLimited. Default 30.
	PresenceRate int

	// MaxConnsPerUser is, with a Verifier, the most connections one
	// token user may hold open across documents; a hello over it is
	// refused with CodeTooManyConns and close CloseRateLimited. Default
	// 100.
	MaxConnsPerUser int

	// JoinRate is, with a Verifier, how many joins (hellos accepted) a
	// second one token user may make across documents, in bursts of as
	// many; a hello over it gets CodeRateLimited and close
	// CloseRateLimited. Default 20.
	JoinRate int

	// Metrics counts connections, rooms, ops, commits and close codes.
	// Default: counts nothing.
	Metrics Metrics
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		nop := zerolog.Nop()
		c.Logger = &nop
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.IdleUnload <= 0 {
		c.IdleUnload = 30 * time.Second
	}
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = 1000
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = 5000
	}
	if c.PresenceInterval <= 0 {
		c.PresenceInterval = 50 * time.Millisecond
	}
	if c.Batch <= 0 {
		c.Batch = 512
	}
	if c.MaxDeltaOps <= 0 {
		c.MaxDeltaOps = 10000
	}
	if c.MaxInsertBytes <= 0 {
		c.MaxInsertBytes = 1 << 20
	}
	if c.MaxDocLen <= 0 {
		c.MaxDocLen = 4 << 20
	}
	if c.OpRate <= 0 {
		c.OpRate = 200
	}
	if c.PresenceRate <= 0 {
		c.PresenceRate = 30
	}
	if c.MaxConnsPerUser <= 0 {
		c.MaxConnsPerUser = 100
	}
	if c.JoinRate <= 0 {
		c.JoinRate = 20
	}
	if c.Metrics == nil {
		c.Metrics = nopMetrics{}
	}
	return c
}
