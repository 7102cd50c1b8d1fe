// Command cowrite is the Cowrite server: real-time collaborative rich-text
// editing in one binary.
//
//	cowrite serve [flags]   run the server (the default command)
//	cowrite bench [flags]   measure a server under load (see the README)
//	cowrite backup --data DIR --out FILE     back up a stopped store
//	cowrite backup --url URL --out FILE      back up a running server (admin token in $COWRITE_TOKEN or --token-file)
//	cowrite restore --data DIR --in FILE     restore a backup into an empty store
//	cowrite export --data DIR --doc ID --format txt|html|md|json [--rev N] [--out FILE]
//	cowrite import --data DIR --doc ID [--format txt|md|json] FILE
//	cowrite token --secret-file F --sub ID [--doc PATTERN=ROLE ...]   mint a token
//	cowrite healthcheck [--url U] [--timeout D]   exit 0 when a running server's /readyz answers 2xx
//	cowrite version         print the version
//
// Every flag of serve can also be set by an environment variable named
// COWRITE_ and the flag's name in upper case with - as _; a flag given on
// the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/doc/convert"
	"github.com/cowrite/cowrite/e2e/loadgen"
	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
	"github.com/cowrite/cowrite/web"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "cowrite:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args)
	case "bench":
		return bench(args)
	case "backup":
		return backup(args)
	case "restore":
		return restore(args)
	case "export":
		return export(args)
	case "import":
		return importDoc(args)
	case "token":
		return token(args)
	case "healthcheck":
		return healthcheck(args)
	case "version":
		fmt.Println(version())
		return nil
	}
	return fmt.Errorf("unknown command %q (commands: serve, bench, backup, restore, export, import, token, healthcheck, version)", cmd)
}

// serveConfig is serve's configuration, from flags and environment.
type serveConfig struct {
	addr            string
	data            string
	sync            bool
	snapshotEvery   int
	idleUnload      time.Duration
	logLevel        string
	maxFrame        int64
	maxDeltaOps     int
	maxInsertBytes  int
	maxDocLen       int
	opRate          int
	presenceRate    int
	maxConns        int
	maxConnsPerIP   int
	maxConnsUser    int
	maxPendingPerIP int
	writeRate       int
	joinRate        int
	trustedProxies  string
	helloTimeout    time.Duration
	allowedOrigins  string
	allowedHosts    string
	shutdownWait    time.Duration
	cpuProfile      string
	adminAddr       string

	jwtSecretFile    string
	jwtPublicKeyFile string
	jwtIssuer        string
	jwtAudience      string
}

func parseServe(args []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", ":8080", "address to listen on")
	fs.StringVar(&c.data, "data", "./data", "data directory (created if missing; one process at a time)")
	fs.BoolVar(&c.sync, "sync", true, "sync every commit to disk before acknowledging; with -sync=false a power failure or OS crash can lose the last acknowledged edits (a process crash cannot)")
	fs.IntVar(&c.snapshotEvery, "snapshot-every", 1000, "ops between snapshots of a document")
	fs.DurationVar(&c.idleUnload, "idle-unload", 30*time.Second, "how long a document with nobody in it stays in memory")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.Int64Var(&c.maxFrame, "max-frame", 1<<20, "largest WebSocket frame and REST body, in bytes")
	fs.IntVar(&c.maxDeltaOps, "max-delta-ops", 10000, "most ops in one delta; more is refused with too_large")
	fs.IntVar(&c.maxInsertBytes, "max-insert-bytes", 1<<20, "most bytes of inserted text in one op; more is refused with too_large")
	fs.IntVar(&c.maxDocLen, "max-doc-len", 4<<20, "longest a document may grow, in UTF-16 units; an op that would pass it is refused with too_large")
	fs.IntVar(&c.opRate, "op-rate", 200, "ops a second one connection may send; over it ops get rate_limited, far over it the connection is closed with 4029")
	fs.IntVar(&c.presenceRate, "presence-rate", 30, "presence updates a second one connection may send; over it they are coalesced, far over it the connection is closed with 4029")
	fs.IntVar(&c.maxConns, "max-conns", 10000, "most WebSockets open on the server; more are refused with HTTP 503")
	fs.IntVar(&c.maxConnsPerIP, "max-conns-per-ip", 100, "in open mode, most WebSockets from one client address; more are refused with HTTP 429")
	fs.IntVar(&c.joinRate, "join-rate", 20, "with tokens, joins (WebSocket hellos) a second one user may make across documents; more get rate_limited and close 4029")
	fs.IntVar(&c.writeRate, "write-rate", 50, "REST writes (create, op, delete) a second one caller may make, a token's user or in open mode an address; more get HTTP 429 rate_limited")
	fs.IntVar(&c.maxPendingPerIP, "max-pending-per-ip", 50, "most WebSockets from one client address that have not had their hello accepted yet; more are refused with HTTP 429")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed for the per-address limits; empty: none")
	fs.IntVar(&c.maxConnsUser, "max-conns-per-user", 100, "with tokens, most connections of one user; more are closed with 4029")
	fs.DurationVar(&c.helloTimeout, "hello-timeout", 10*time.Second, "how long a new WebSocket may take to send a valid hello; it is then closed with 4002, and nothing it sent before is kept")
	fs.StringVar(&c.allowedHosts, "allowed-hosts", "", "in open mode, comma-separated host names (docs.lan) the server answers for besides localhost and IP addresses, against DNS rebinding; with tokens any name is answered")
	fs.StringVar(&c.allowedOrigins, "allowed-origins", "", "comma-separated origins (https://app.example.com) whose pages may connect, besides the server's own; scheme://host[:port] only, and a bad entry stops startup")
	fs.DurationVar(&c.shutdownWait, "shutdown-wait", 20*time.Second, "how long a graceful shutdown may take")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile to this file until shutdown (for profiling)")
	fs.StringVar(&c.adminAddr, "admin-addr", "", "address of the admin listener serving pprof under /debug/pprof/ (keep it private, e.g. 127.0.0.1:6060); empty: off")
	fs.StringVar(&c.jwtSecretFile, "jwt-secret-file", "", "file holding the HS256 secret (at least 32 bytes) that tokens are signed with")
	fs.StringVar(&c.jwtPublicKeyFile, "jwt-public-key-file", "", "PEM public key, Ed25519 (EdDSA) or RSA (RS256), that tokens are signed for")
	fs.StringVar(&c.jwtIssuer, "jwt-issuer", "", "required iss of tokens; empty: any")
	fs.StringVar(&c.jwtAudience, "jwt-audience", "", "required aud of tokens; empty: any")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := envDefaults(fs); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	return c, nil
}

// envDefaults sets every flag not given on the command line from its
// COWRITE_ environment variable.
func envDefaults(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "COWRITE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && !given[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

func serve(args []string) error {
	c, err := parseServe(args)
	if err != nil {
		return err
	}
	level, err := zerolog.ParseLevel(c.logLevel)
	if err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	log := zerolog.New(os.Stderr).Level(level).With().Timestamp().Logger()
	if c.cpuProfile != "" {
		stopProfile, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}

	tokens, err := verifier(c, &log)
	if err != nil {
		return err
	}
	origins, err := web.ParseOrigins(splitList(c.allowedOrigins))
	if err != nil {
		return fmt.Errorf("--allowed-origins: %w", err)
	}

	proxies, err := parseProxies(c.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	store, err := persist.Open(ctx, persist.Options{Dir: c.data, NoSync: !c.sync, Logger: log.With().Str("component", "store").Logger()})
	if err != nil {
		return err
	}
	if !c.sync {
		log.Warn().Msg("sync is off: a power failure or OS crash can lose acknowledged edits")
	}
	if tokens != nil {
		if err := loadRevocations(ctx, store, tokens, &log); err != nil {
			store.Close()
			return err
		}
	}
	metrics := web.NewMetrics()
	manager := session.NewManager(session.Config{
		Store:           store,
		Metrics:         metrics,
		Logger:          &log,
		SnapshotEvery:   c.snapshotEvery,
		IdleUnload:      c.idleUnload,
		Verifier:        tokens,
		MaxDeltaOps:     c.maxDeltaOps,
		MaxInsertBytes:  c.maxInsertBytes,
		MaxDocLen:       c.maxDocLen,
		OpRate:          c.opRate,
		PresenceRate:    c.presenceRate,
		MaxConnsPerUser: c.maxConnsUser,
		JoinRate:        c.joinRate,
		HelloTimeout:    c.helloTimeout,
	})
	handler := web.New(web.Config{Manager: manager, Logger: &log, MaxFrame: c.maxFrame, MaxConns: c.maxConns, MaxConnsPerIP: c.maxConnsPerIP, MaxPendingPerIP: c.maxPendingPerIP, WriteRate: c.writeRate, TrustedProxies: proxies, AllowedOrigins: origins, AllowedHosts: splitList(c.allowedHosts), Metrics: metrics, Verifier: tokens, Revoke: func(ctx context.Context, rev auth.Revocation) error {
		return store.Revoke(ctx, persist.Revocation{User: rev.User, Session: rev.Session, At: rev.At})
	}, Backup: func(bctx context.Context, w io.Writer) error {
		// A shutdown does not wait for a backup: it ends it, and the
		// client is told the backup failed.
		bctx, cancel := context.WithCancel(bctx)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		return store.Backup(bctx, w, nil)
	}, Ready: func(ctx context.Context) error {
		if err := manager.Ready(); err != nil {
			return err
		}
		return store.Ready(ctx)
	}})
	httpServer := newHTTPServer(handler)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		store.Close()
		return err
	}
	log.Info().Str("addr", ln.Addr().String()).Str("data", c.data).Bool("sync", c.sync).Msg("cowrite serving")
	served := make(chan error, 2)
	go func() { served <- httpServer.Serve(ln) }()

	var adminServer *http.Server
	if c.adminAddr != "" {
		aln, err := net.Listen("tcp", c.adminAddr)
		if err != nil {
			ln.Close()
			store.Close()
			return fmt.Errorf("admin listener: %w", err)
		}
		adminServer = newHTTPServer(adminHandler())
		log.Info().Str("addr", aln.Addr().String()).Msg("admin listener serving pprof")
		go func() { served <- adminServer.Serve(aln) }()
	}

	select {
	case err = <-served:
		log.Error().Err(err).Msg("http server stopped")
	case <-ctx.Done():
		log.Info().Msg("shutting down")
	}
	stop()

	// Shut down in reverse order of construction: stop accepting, let the
	// rooms commit, snapshot and close their sockets with 1001, then drop
	// what is left and close the store.
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownWait)
	defer cancel()
	var errs []error
	if adminServer != nil {
		if err := adminServer.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("admin listener: %w", err))
		}
	}
	shutdownHTTP := make(chan error, 1)
	go func() { shutdownHTTP <- httpServer.Shutdown(sctx) }()
	if err := manager.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := handler.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := <-shutdownHTTP; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	if err := store.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

// newHTTPServer returns a server of h. It has no ReadTimeout or
// WriteTimeout: they would cut WebSockets and backups. Idle keep-alive
// connections and headers are bounded, so a client cannot hold sockets or
// memory for free.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// bench runs the load generator: against --url, or against a server it
// starts from this binary on a temporary directory, with sync on.
func bench(args []string) error {
	var c loadgen.Config
	var serverArgs string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", "", "base URL of a running server (http://host:port); default: start one on a free loopback port and measure its CPU and memory")
	fs.IntVar(&c.Docs, "docs", 10, "documents to type into")
	fs.IntVar(&c.Clients, "clients", 5, "typing clients per document")
	fs.DurationVar(&c.Pause, "pause", 0, "pause after each ack before a client's next op")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "how long to type before measuring")
	fs.IntVar(&c.Idle, "idle", 0, "idle connections to join before typing, for the memory cost of one")
	fs.IntVar(&c.IdlePerDoc, "idle-per-doc", 10, "idle connections per document")
	fs.StringVar(&serverArgs, "serve-args", "", "more flags for the server it starts, space-separated")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's CPU profile to this file (for profiling)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	if c.URL == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find this binary: %w", err)
		}
		c.Server = []string{exe, "serve"}
		// Every client of the load generator comes from loopback and types
		// without a pause: the connection and rate limits are lifted
		// (--serve-args may set them again).
		lifted := []string{"--max-conns=1000000", "--max-conns-per-ip=1000000", "--max-pending-per-ip=1000000", "--op-rate=1000000", "--presence-rate=1000000", "--write-rate=1000000", "--join-rate=1000000"}
		c.ServerArgs = append(lifted, strings.Fields(serverArgs)...)
	}
	c.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, c)
	if rep != nil {
		fmt.Println(rep)
	}
	return err
}

// startCPUProfile writes a CPU profile to path until the returned function
// is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// splitList splits a comma-separated flag value, dropping empty entries
// and the spaces around each.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// parseProxies reads --trusted-proxies: addresses and CIDR ranges,
// comma-separated.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range splitList(list) {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR range", e)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// openOffline opens the store in dir for a command that runs while no
// server has it open (the directory is locked by a running server).
func openOffline(ctx context.Context, cmd, dir string) (*persist.Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%s: --data is required", cmd)
	}
	s, err := persist.Open(ctx, persist.Options{Dir: dir})
	if errors.Is(err, persist.ErrLocked) {
		return nil, fmt.Errorf("%s: %w (stop the server first: %s works on a stopped data directory)", cmd, err, cmd)
	}
	return s, err
}

// existingDir fails unless dir is a directory, for the commands that
// read a data directory: opening a missing one would create an empty
// store there and read nothing from it.
func existingDir(cmd, dir string) error {
	if dir == "" {
		return fmt.Errorf("%s: --data is required", cmd)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: data directory: %w", cmd, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: data directory %s is not a directory", cmd, dir)
	}
	return nil
}

// progressBar returns a progress callback that draws a bar on stderr,
// and a function that ends it. A total below zero draws a spinner.
func progressBar(what string) (func(done, total int64), func()) {
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return func(done, total int64) {
			if total >= 0 && total != bar.GetMax64() {
				bar.ChangeMax64(total)
			}
			bar.Set64(done)
		}, func() {
			bar.Finish()
			fmt.Fprintln(os.Stderr)
		}
}

// backup writes a backup of a stopped store, or with --url fetches one
// from a running server.
func backup(args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory of a stopped server")
	out := fs.String("out", "", "backup file to write (- for standard output)")
	base := fs.String("url", "", "base URL of a running server (http://host:8080) to back up online instead of --data")
	tokenFile := fs.String("token-file", "", "with --url: file holding a server admin's token (default: $COWRITE_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	const usage = "usage: cowrite backup --data DIR --out FILE, or cowrite backup --url http://HOST:PORT [--token-file F] --out FILE"
	if *out == "" || fs.NArg() > 0 {
		return errors.New(usage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *base != "" {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "data" })
		if given {
			return errors.New("backup: give --data or --url, not both\n" + usage)
		}
		tok, err := adminToken("backup", *tokenFile)
		if err != nil {
			return err
		}
		return backupOnline(ctx, *base, tok, *out)
	}
	if *tokenFile != "" {
		return errors.New("backup: --token-file goes with --url\n" + usage)
	}
	if err := existingDir("backup", *data); err != nil {
		return err
	}
	store, err := persist.Open(ctx, persist.Options{Dir: *data})
	if errors.Is(err, persist.ErrLocked) {
		return fmt.Errorf("backup: %w: a running server has it; back it up online with --url http://HOST:PORT and a server admin's token (--token-file or $COWRITE_TOKEN), or stop the server first", err)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	err = writeBackup(*out, func(w io.Writer) error {
		progress, done := progressBar("backup")
		defer done()
		return store.Backup(ctx, w, progress)
	})
	if err != nil {
		return err
	}
	return store.Close()
}

// writeBackup runs write on standard output when out is "-", else on a
// file beside out that is synced and renamed to out once write returned
// nil, so that a failed backup never leaves a file that looks whole.
func writeBackup(out string, write func(w io.Writer) error) error {
	if out == "-" {
		return write(os.Stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// restore reads a backup into an empty data directory.
func restore(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	data := fs.String("data", "", "data directory to restore into: missing or empty")
	in := fs.String("in", "", "backup file to read (- for standard input)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *data == "" || fs.NArg() > 0 {
		return errors.New("usage: cowrite restore --data DIR --in FILE")
	}
	r := os.Stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer f.Close()
		r = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	store, err := openOffline(ctx, "restore", *data)
	if err != nil {
		return err
	}
	defer store.Close()
	progress, done := progressBar("restore")
	err = store.Restore(ctx, r, progress)
	done()
	if err != nil {
		return err
	}
	return store.Close()
}

// export writes one document at one revision in a format.
func export(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory of a stopped server")
	id := fs.String("doc", "", "document id")
	format := fs.String("format", "", "txt, html, md or json (default: from --out's extension, else txt)")
	rev := fs.Int64("rev", -1, "revision to export (default: the latest)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || fs.NArg() > 0 {
		return errors.New("usage: cowrite export --data DIR --doc ID --format txt|html|md|json [--rev N] [--out FILE]")
	}
	if *format == "" {
		if *format = convert.FormatOf(*out); *format == "" {
			*format = convert.Text
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := existingDir("export", *data); err != nil {
		return err
	}
	store, err := openOffline(ctx, "export", *data)
	if err != nil {
		return err
	}
	defer store.Close()
	r := doc.Rev(*rev)
	if r < 0 {
		m, err := store.Meta(ctx, *id)
		if err != nil {
			return err
		}
		r = m.Rev
	}
	content, err := store.At(ctx, *id, r)
	if err != nil {
		return err
	}
	b, err := convert.Export(content, *format)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}

// importDoc reads a file into a document: a new document when id is free,
// else one op that turns the document's content into the file's.
func importDoc(args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	data := fs.String("data", "./data", "data directory of a stopped server")
	id := fs.String("doc", "", "document id")
	format := fs.String("format", "", "txt, md or json (default: from the file's extension)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id == "" || fs.NArg() != 1 {
		return errors.New("usage: cowrite import --data DIR --doc ID [--format txt|md|json] FILE")
	}
	name := fs.Arg(0)
	if *format == "" {
		if *format = convert.FormatOf(name); *format == "" {
			return fmt.Errorf("import: cannot tell the format of %s: give --format", name)
		}
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	content, err := convert.Import(b, *format)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	store, err := openOffline(ctx, "import", *data)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Import(ctx, *id, filepath.Base(name), content); err != nil {
		return err
	}
	return store.Close()
}

// adminHandler serves the admin listener: pprof's handlers, on a mux of
// their own so that they never reach the public router.
func adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	return mux
}

// version describes the binary: its module version and the commit it was
// built from, as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "cowrite (unknown build)"
	}
	v := "cowrite " + bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		v += " (" + rev + modified + ")"
	}
	return v + " " + bi.GoVersion
}
