package web

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/cowrite/cowrite/session"
)

// Server is Cowrite's HTTP handler: REST API, WebSocket endpoint, health.
type Server struct {
	cfg    Config
	melody *melody.Melody
	router chi.Router
	conns  connCounter
	// writes limits the REST writes (creating, submitting an op,
	// deleting) of each caller: a token's user, or in open mode a client
	// address (ratelimit.go).
	writes session.KeyedLimiter

	backingUp atomic.Bool // an online backup is being streamed (backup.go)
}

// New returns the server's handler over cfg.Manager.
func New(cfg Config) *Server {
	srv := &Server{cfg: cfg.withDefaults()}
	srv.writes.PerSec = srv.cfg.WriteRate
	srv.melody = srv.newMelody()

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(hlog.NewHandler(*srv.cfg.Logger))
	r.Use(hlog.AccessHandler(func(r *http.Request, status, size int, d time.Duration) {
		level := zerolog.InfoLevel
		if status >= 500 {
			level = zerolog.WarnLevel
		}
		hlog.FromRequest(r).WithLevel(level).
			Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
			Int("size", size).Dur("duration", d).Msg("request")
	}))

	r.Use(srv.checkHost)

	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", srv.ready)
	r.Method(http.MethodGet, "/metrics", srv.cfg.Metrics.Handler())
	r.Route("/v1/docs", func(r chi.Router) {
		r.Get("/", srv.listDocs)
		r.Post("/", srv.createDoc)
		r.Get("/{id}", srv.getDoc)
		r.Delete("/{id}", srv.deleteDoc)
		r.Get("/{id}/ops", srv.getOps)
		r.Post("/{id}/ops", srv.postOp)
		// No timeout middleware here: it would cancel live sessions.
		r.Get("/{id}/ws", srv.serveWS)
	})
	r.Get("/v1/info", srv.info)
	r.Route("/v1/admin", func(r chi.Router) {
		r.Post("/revoke", srv.revoke)
		r.Get("/backup", srv.backup)
	})
	srv.routePages(r)
	srv.router = r
	return srv
}

// ServeHTTP serves a request.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { srv.router.ServeHTTP(w, r) }

// Close closes every WebSocket that is still open with
// session.CloseGoingAway. Call it after the manager closed its sessions
// with their close codes. Those close frames are written by goroutines of
// their own and may still be on their way: a bare melody Close would then
// overtake them with a close frame without a code (1005), and clients
// would not learn that the server is going away.
func (srv *Server) Close(ctx context.Context) error {
	_ = ctx
	return srv.melody.CloseWithMsg(websocket.FormatCloseMessage(session.CloseGoingAway, "server shutting down"))
}

func (srv *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := srv.cfg.Ready(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
