package web

import "net/http"

// backup streams a backup of the whole store (helper C fills this in).
func (srv *Server) backup(w http.ResponseWriter, r *http.Request) {
	if _, ok := srv.admin(w, r); !ok {
		return
	}
	writeError(w, http.StatusNotImplemented, "not_offered", "online backup is not built yet")
}
