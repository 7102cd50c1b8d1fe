package loadgen

import (
	"io"
	"time"
)

// Config describes a run. The zero value of a duration means its default;
// Docs, Clients and Idle count what they say, zero meaning none.
type Config struct {
	// URL is a running server's base URL (http://host:port). When empty,
	// Run starts Server as a child process and measures it.
	URL string

	// Server is the command that runs a server: the cowrite binary and
	// "serve". Run adds --addr, --data, --sync=true and --log-level, then
	// ServerArgs. Required when URL is empty.
	Server []string

	// ServerArgs are more arguments for the child server, such as a
	// profile to write.
	ServerArgs []string

	// Docs is how many documents receive ops, and Clients how many
	// clients type into each of them. Either zero means no typing: only
	// the idle connections.
	Docs, Clients int

	// Pause is how long a client waits after each ack before its next op,
	// on average: each pause is drawn uniformly from [Pause/2, 3*Pause/2),
	// and each client's first op leaves after a random part of a pause, so
	// that the clients do not type in lockstep (which makes bursts that no
	// group of people makes). Zero means none: the next op leaves as soon
	// as the ack arrives.
	Pause time.Duration

	// Warmup is how long the clients type before the measurement starts.
	// Default 2s.
	Warmup time.Duration

	// Duration is how long the measurement lasts. Default 10s.
	Duration time.Duration

	// Idle is how many connections join and then do nothing, for the
	// memory cost of a connection: the server's resident memory after
	// they joined, minus before, divided by Idle. They join before the
	// typing starts and stay until the end.
	Idle int

	// IdlePerDoc is how many idle connections share a document. Default
	// 10.
	IdlePerDoc int

	// Seed seeds the clients' random positions. Zero means a random seed.
	Seed uint64

	// Progress, if set, receives a line per phase of the run.
	Progress io.Writer
}

func (c Config) withDefaults() Config {
	if c.Warmup <= 0 {
		c.Warmup = 2 * time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.IdlePerDoc <= 0 {
		c.IdlePerDoc = 10
	}
	if c.Docs < 0 {
		c.Docs = 0
	}
	if c.Clients < 0 {
		c.Clients = 0
	}
	if c.Idle < 0 {
		c.Idle = 0
	}
	return c
}
