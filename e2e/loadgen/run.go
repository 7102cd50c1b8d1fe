package loadgen

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// joinParallel is how many connections join at once.
const joinParallel = 32

// run is the state of one Run.
type run struct {
	cfg   Config
	start time.Time
	wsURL string

	winStart, winEnd atomic.Int64 // the measurement window, on the run clock
	ending           atomic.Bool  // closing sockets is expected now
}

// now returns the run clock: nanoseconds since the run started.
func (r *run) now() int64 { return int64(time.Since(r.start)) }

func (r *run) window() (start, end int64) { return r.winStart.Load(), r.winEnd.Load() }

func (r *run) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "bench: "+format+"\n", args...)
	}
}

// Run runs the load described by cfg and reports what it measured. It
// fails when the server cannot be started or reached, or a connection
// cannot join; errors during the run are counted in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	r := &run{cfg: cfg, start: time.Now()}
	r.winStart.Store(math.MaxInt64)
	r.winEnd.Store(math.MaxInt64)
	rep := &Report{Docs: cfg.Docs, Clients: cfg.Clients, Pause: cfg.Pause, Idle: cfg.Idle,
		ServerCPU: -1, LoadBefore: loadAverage()}
	if cfg.Docs == 0 || cfg.Clients == 0 {
		rep.Docs, rep.Clients = 0, 0
	}

	base := strings.TrimRight(cfg.URL, "/")
	var srv *child
	if base == "" {
		r.progress("starting %s", strings.Join(append(append([]string{}, cfg.Server...), cfg.ServerArgs...), " "))
		var err error
		if srv, err = startChild(ctx, cfg.Server, cfg.ServerArgs); err != nil {
			return nil, err
		}
		defer func() {
			if srv != nil {
				srv.stop()
			}
		}()
		base = srv.url
		rep.Measured = procSupported
	}
	switch {
	case strings.HasPrefix(base, "http://"):
		r.wsURL = "ws://" + strings.TrimPrefix(base, "http://")
	case strings.HasPrefix(base, "https://"):
		r.wsURL = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "ws://"), strings.HasPrefix(base, "wss://"):
		r.wsURL = base
	default:
		return nil, fmt.Errorf("loadgen: URL %q: want http://host:port", cfg.URL)
	}
	prefix := "bench-" + strings.ToLower(crand.Text()[:8])
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}

	// Idle connections first, against a quiet server.
	var idlers []*idler
	defer func() {
		r.ending.Store(true)
		for _, i := range idlers {
			closeWS(i.ws)
		}
		for _, i := range idlers {
			<-i.done
		}
	}()
	if cfg.Idle > 0 {
		var before int64
		if rep.Measured {
			time.Sleep(500 * time.Millisecond)
			before, _, _ = procMem(srv.pid())
		}
		r.progress("joining %d idle connections, %d per document", cfg.Idle, cfg.IdlePerDoc)
		t0 := time.Now()
		var err error
		idlers, err = r.joinIdle(ctx, prefix)
		if err != nil {
			return nil, err
		}
		rep.IdleJoin = time.Since(t0)
		if rep.Measured {
			// Let the joins' garbage and pending frames settle.
			time.Sleep(2 * time.Second)
			after, _, err := procMem(srv.pid())
			if err != nil {
				return nil, err
			}
			rep.IdleRSSBefore, rep.IdleRSSAfter = before, after
			rep.IdleBytesPerConn = float64(after-before) / float64(cfg.Idle)
		}
	}

	// Typing.
	var typists []*typist
	if rep.Docs > 0 {
		r.progress("joining %d documents × %d clients", cfg.Docs, cfg.Clients)
		var err error
		if typists, err = r.joinTypists(ctx, prefix, seed); err != nil {
			return nil, err
		}
		r.progress("typing: %s warmup, %s measured", cfg.Warmup, cfg.Duration)
		for _, t := range typists {
			go t.read()
		}
		for _, t := range typists {
			t.start()
		}
		if err := sleep(ctx, cfg.Warmup); err != nil {
			return nil, err
		}
		cpu0, self0 := r.serverCPU(srv), selfCPU()
		t0 := time.Now()
		r.winStart.Store(r.now())
		err = sleep(ctx, cfg.Duration)
		r.winEnd.Store(r.now())
		elapsed := time.Since(t0)
		cpu1, self1 := r.serverCPU(srv), selfCPU()
		if cpu0 >= 0 && cpu1 >= 0 {
			rep.ServerCPU = (cpu1 - cpu0).Seconds() / elapsed.Seconds()
		}
		rep.LoadCPU = (self1 - self0).Seconds() / elapsed.Seconds()
		rep.Elapsed = elapsed
		r.stopTypists(typists)
		if err != nil {
			return nil, err
		}
		var ack, bcast histogram
		for _, t := range typists {
			ack.merge(&t.ack)
			bcast.merge(&t.bcast)
			rep.Ops += t.acked
			rep.Refused += t.refused
			if t.err != nil {
				rep.Failed++
				if rep.FirstError == "" {
					rep.FirstError = t.err.Error()
				}
			}
		}
		rep.OpsPerSec = float64(rep.Ops) / elapsed.Seconds()
		rep.Ack = latencyOf(&ack)
		rep.Broadcast = latencyOf(&bcast)
	}
	for _, i := range idlers {
		select {
		case <-i.done:
			rep.IdleLost++
		default:
		}
	}
	if rep.Measured {
		if _, peak, err := procMem(srv.pid()); err == nil {
			rep.ServerPeakRSS = peak
		}
	}
	rep.LoadAfter = loadAverage()
	if srv != nil {
		r.progress("stopping the server")
		r.ending.Store(true)
		for _, t := range typists {
			closeWS(t.ws)
		}
		err := srv.stop()
		srv = nil
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// serverCPU returns the child server's CPU time, or -1.
func (r *run) serverCPU(srv *child) time.Duration {
	if srv == nil {
		return -1
	}
	d, err := procCPU(srv.pid())
	if err != nil {
		return -1
	}
	return d
}

// stopTypists stops typing, waits up to 10s for the ops in flight, and
// closes the sockets.
func (r *run) stopTypists(typists []*typist) {
	for _, t := range typists {
		t.stop()
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && busy(typists) {
		time.Sleep(time.Millisecond)
	}
	r.ending.Store(true)
	for _, t := range typists {
		closeWS(t.ws)
	}
	for _, t := range typists {
		<-t.done
	}
}

func (r *run) joinTypists(ctx context.Context, prefix string, seed uint64) ([]*typist, error) {
	cfg := r.cfg
	groups := make([]*group, cfg.Docs)
	for d := range groups {
		g := &group{id: fmt.Sprintf("%s-d%d", prefix, d), index: map[string]int{}}
		for c := range cfg.Clients {
			g.index[clientID(g, c)] = c
			g.rings = append(g.rings, &ring{})
		}
		groups[d] = g
	}
	typists := make([]*typist, cfg.Docs*cfg.Clients)
	err := parallel(ctx, len(typists), func(ctx context.Context, i int) error {
		g, idx := groups[i%cfg.Docs], i/cfg.Docs
		c, err := join(ctx, r.wsURL, g.id, clientID(g, idx))
		if err != nil {
			return err
		}
		typists[i] = newTypist(r, g, idx, c, seed)
		return nil
	})
	if err != nil {
		for _, t := range typists {
			if t != nil {
				t.ws.Close()
			}
		}
		return nil, err
	}
	return typists, nil
}

func (r *run) joinIdle(ctx context.Context, prefix string) ([]*idler, error) {
	idlers := make([]*idler, r.cfg.Idle)
	err := parallel(ctx, len(idlers), func(ctx context.Context, i int) error {
		id := fmt.Sprintf("%s-idle%d", prefix, i/r.cfg.IdlePerDoc)
		c, err := join(ctx, r.wsURL, id, fmt.Sprintf("%s-i%d", id, i))
		if err != nil {
			return err
		}
		idlers[i] = &idler{ws: c.ws, done: make(chan struct{})}
		go idlers[i].read(r)
		return nil
	})
	if err != nil {
		r.ending.Store(true)
		for _, i := range idlers {
			if i != nil {
				i.ws.Close()
			}
		}
		return nil, err
	}
	return idlers, nil
}

// parallel runs fn for 0..n-1, joinParallel at a time, each within 30s,
// and returns the first error.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(joinParallel, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
				err := fn(jctx, i)
				jcancel()
				if err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return first
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// busy reports whether a typist still waits for an ack.
func busy(typists []*typist) bool {
	for _, t := range typists {
		select {
		case <-t.done:
			continue
		default:
		}
		if !t.idle() {
			return true
		}
	}
	return false
}
