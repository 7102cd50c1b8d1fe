package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/rs/zerolog/hlog"

	"github.com/cowrite/cowrite/session/auth"
)

// info tells pages how the server runs, so that the editor can warn in
// open mode and ask for a token otherwise.
func (srv *Server) info(w http.ResponseWriter, r *http.Request) {
	mode := "token"
	if srv.cfg.Verifier == nil {
		mode = "open"
	}
	writeJSON(w, http.StatusOK, map[string]string{"auth": mode})
}

// revoke revokes a user or a session: the revocation is stored, added to
// the verifier's list, and every open session it matches is closed.
func (srv *Server) revoke(w http.ResponseWriter, r *http.Request) {
	admin, ok := srv.admin(w, r)
	if !ok {
		return
	}
	if srv.cfg.Revoke == nil {
		writeError(w, http.StatusNotImplemented, "not_offered", "this server does not store revocations")
		return
	}
	var rev auth.Revocation
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rev); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `the body must be {"user": "..."} or {"session": "..."}`)
		return
	}
	rev.At = time.Now()
	if err := rev.Check(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := srv.cfg.Revoke(r.Context(), rev); err != nil {
		hlog.FromRequest(r).Error().Err(err).Msg("store revocation")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the revocation could not be stored")
		return
	}
	srv.cfg.Verifier.Revoke(rev)
	closed := srv.cfg.Manager.CloseRevoked()
	hlog.FromRequest(r).Warn().Str("admin", admin.User).Str("user", rev.User).Str("session", rev.Session).
		Int("closed", closed).Msg("revoked")
	writeJSON(w, http.StatusOK, map[string]any{"revoked": rev, "closed": closed})
}
