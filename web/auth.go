package web

import (
	"net/http"
	"strings"

	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

// identify returns the identity of the request's bearer token. In open
// mode (no Config.Verifier) it returns nil and true. A missing or refused
// token is answered with 401 and false.
func (srv *Server) identify(w http.ResponseWriter, r *http.Request) (*auth.Identity, bool) {
	v := srv.cfg.Verifier
	if v == nil {
		return nil, true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok = ""
	}
	id, err := v.Verify(strings.TrimSpace(tok))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cowrite"`)
		writeError(w, http.StatusUnauthorized, session.CodeUnauthorized, "bearer token missing or refused")
		return nil, false
	}
	return id, true
}

// allow reports whether the request may act on document docID with role
// need. A document the user may not reach is answered exactly as a
// missing one, so that no one can probe which documents exist. It returns
// the identity, nil in open mode.
func (srv *Server) allow(w http.ResponseWriter, r *http.Request, docID string, need auth.Role) (*auth.Identity, bool) {
	id, ok := srv.identify(w, r)
	if !ok {
		return nil, false
	}
	if srv.cfg.Verifier != nil && !id.Can(docID, need) {
		writeNotFound(w)
		return nil, false
	}
	return id, true
}

// admin reports whether the request carries a server admin's token
// (auth.Identity.ServerAdmin). It answers 401 for a missing or refused
// token, 403 for another user's, and 404 in open mode: with no tokens
// there are no admins, and these endpoints are not offered.
func (srv *Server) admin(w http.ResponseWriter, r *http.Request) (*auth.Identity, bool) {
	if srv.cfg.Verifier == nil {
		writeError(w, http.StatusNotFound, "no_admin", "admin endpoints need a server started with a token key (--jwt-secret-file or --jwt-public-key-file)")
		return nil, false
	}
	id, ok := srv.identify(w, r)
	if !ok {
		return nil, false
	}
	if !id.ServerAdmin() {
		writeError(w, http.StatusForbidden, "forbidden", `this needs a server admin's token (docs: {"*": "admin"})`)
		return nil, false
	}
	return id, true
}

func writeNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, session.CodeNotFound, "no such document or revision")
}
