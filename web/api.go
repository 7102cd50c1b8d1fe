package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/auth"
)

// maxOpsPage is the most ops one GET of /v1/docs/{id}/ops returns.
const maxOpsPage = 1000

// docJSON is a document's metadata in the REST API.
type docJSON struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Epoch   string    `json:"epoch"`
	Rev     doc.Rev   `json:"rev"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

func metaJSON(m doc.Meta) docJSON {
	return docJSON{ID: m.ID, Title: m.Title, Epoch: m.Epoch, Rev: m.Rev, Created: m.Created, Updated: m.Updated}
}

// opJSON is a sequenced op in the REST API.
type opJSON struct {
	Rev    doc.Rev   `json:"rev"`
	Delta  ot.Delta  `json:"delta"`
	Client string    `json:"client,omitempty"`
	Seq    uint64    `json:"seq,omitempty"`
	Author string    `json:"author,omitempty"`
	Time   time.Time `json:"time"`
}

func (srv *Server) listDocs(w http.ResponseWriter, r *http.Request) {
	id, ok := srv.identify(w, r)
	if !ok {
		return
	}
	metas, err := srv.cfg.Manager.List(r.Context())
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	out := make([]docJSON, 0, len(metas))
	for _, m := range metas {
		if srv.cfg.Verifier == nil || id.Can(m.ID, auth.RoleView) {
			out = append(out, metaJSON(m))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"docs": out})
}

func (srv *Server) createDoc(w http.ResponseWriter, r *http.Request) {
	// Who asks is known before the body is read: a stranger's body is not
	// decoded, and the answer to a stranger does not depend on it.
	user, ok := srv.identify(w, r)
	if !ok || !srv.limitWrite(w, r, user) {
		return
	}
	var req struct {
		ID      string    `json:"id"`
		Title   string    `json:"title"`
		Content *ot.Delta `json:"content"`
		Text    *string   `json:"text"`
	}
	if !srv.readJSON(w, r, &req) {
		return
	}
	if req.ID == "" {
		req.ID = session.NewEpoch()
	}
	if srv.cfg.Verifier != nil && !user.Can(req.ID, auth.RoleEdit) {
		writeNotFound(w)
		return
	}
	var initial ot.Delta
	switch {
	case req.Content != nil && req.Text != nil:
		writeError(w, http.StatusBadRequest, session.CodeBadMessage, "give content or text, not both")
		return
	case req.Content != nil:
		initial = *req.Content
	case req.Text != nil:
		initial.Insert(*req.Text, nil)
	}
	meta, err := srv.cfg.Manager.Create(r.Context(), req.ID, req.Title, initial)
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/docs/"+meta.ID)
	writeJSON(w, http.StatusCreated, metaJSON(meta))
}

func (srv *Server) getDoc(w http.ResponseWriter, r *http.Request) {
	if _, ok := srv.allow(w, r, chi.URLParam(r, "id"), auth.RoleView); !ok {
		return
	}
	rev, ok := revParam(w, r, "rev", -1)
	if !ok {
		return
	}
	content, meta, err := srv.cfg.Manager.Get(r.Context(), chi.URLParam(r, "id"), rev)
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	if rev < 0 {
		rev = meta.Rev
	}
	switch r.URL.Query().Get("format") {
	case "", "delta":
		writeJSON(w, http.StatusOK, map[string]any{"doc": metaJSON(meta), "rev": rev, "delta": content})
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Cowrite-Rev", strconv.FormatInt(int64(rev), 10))
		io.WriteString(w, content.Text())
	default:
		writeError(w, http.StatusBadRequest, session.CodeBadMessage, "format must be delta or text")
	}
}

func (srv *Server) getOps(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if _, ok := srv.allow(w, r, id, auth.RoleView); !ok {
		return
	}
	from, ok := revParam(w, r, "from", 0)
	if !ok {
		return
	}
	to, ok := revParam(w, r, "to", -1)
	if !ok {
		return
	}
	meta, err := srv.cfg.Manager.Meta(r.Context(), id)
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	if to < 0 || to > meta.Rev {
		to = meta.Rev
	}
	if from < 0 || from > to {
		writeError(w, http.StatusBadRequest, session.CodeBadMessage, "need 0 <= from <= to")
		return
	}
	to = min(to, from+maxOpsPage)
	ops, err := srv.cfg.Manager.Ops(r.Context(), id, from, to)
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	out := make([]opJSON, len(ops))
	for i, s := range ops {
		out[i] = opJSON{Rev: s.Rev, Delta: s.Delta, Client: s.Client, Seq: s.Seq, Author: s.Author, Time: s.Time}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "rev": meta.Rev, "ops": out})
}

func (srv *Server) postOp(w http.ResponseWriter, r *http.Request) {
	user, ok := srv.allow(w, r, chi.URLParam(r, "id"), auth.RoleEdit)
	if !ok || !srv.limitWrite(w, r, user) {
		return
	}
	var req struct {
		Rev    *doc.Rev  `json:"rev"`
		Delta  *ot.Delta `json:"delta"`
		Client string    `json:"client"`
		Seq    uint64    `json:"seq"`
		Author string    `json:"author"`
	}
	if !srv.readJSON(w, r, &req) {
		return
	}
	if req.Rev == nil || req.Delta == nil {
		writeError(w, http.StatusBadRequest, session.CodeBadMessage, "rev and delta are required")
		return
	}
	if (req.Client == "") != (req.Seq == 0) {
		writeError(w, http.StatusBadRequest, session.CodeBadMessage, "give client and seq together, or neither")
		return
	}
	holder := ""
	if user != nil {
		req.Author = user.Name // who it is comes from the token
		holder = user.User
	}
	s, err := srv.cfg.Manager.Submit(r.Context(), chi.URLParam(r, "id"), holder, doc.Change{
		Client: req.Client, Seq: req.Seq, Base: *req.Rev, Delta: *req.Delta, Author: req.Author,
	})
	if err != nil {
		srv.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"rev": s.Rev, "client": s.Client, "seq": s.Seq})
}

func (srv *Server) deleteDoc(w http.ResponseWriter, r *http.Request) {
	if user, ok := srv.allow(w, r, chi.URLParam(r, "id"), auth.RoleAdmin); !ok || !srv.limitWrite(w, r, user) {
		return
	}
	if err := srv.cfg.Manager.Delete(r.Context(), chi.URLParam(r, "id")); err != nil {
		srv.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readJSON decodes a request body of at most MaxFrame bytes into v.
func (srv *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, srv.cfg.MaxFrame)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, session.CodeTooLarge, fmt.Sprintf("body over %d bytes", srv.cfg.MaxFrame))
			return false
		}
		code := session.CodeBadMessage
		if errors.Is(err, ot.ErrInvalid) {
			code = session.CodeBadDelta
		}
		writeError(w, http.StatusBadRequest, code, "bad request body: "+err.Error())
		return false
	}
	return true
}

func revParam(w http.ResponseWriter, r *http.Request, name string, def doc.Rev) (doc.Rev, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, session.CodeBadMessage, name+" must be a revision number")
		return 0, false
	}
	return doc.Rev(n), true
}

// fail answers a request whose work failed, with the status its error
// calls for.
func (srv *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, session.CodeInternal
	msg := "internal error"
	switch {
	case errors.Is(err, session.ErrBadDocID):
		status, code, msg = http.StatusBadRequest, session.CodeBadDocID, err.Error()
	case errors.Is(err, session.ErrBadClient):
		status, code, msg = http.StatusBadRequest, session.CodeBadMessage, "client must be 1 to 64 characters of A-Z a-z 0-9 _ - and seq at most 2^53-1"
	case errors.Is(err, session.ErrClientInUse):
		status, code, msg = http.StatusForbidden, "forbidden", "this client id is in use by another user"
	case errors.Is(err, doc.ErrNotFound):
		status, code, msg = http.StatusNotFound, session.CodeNotFound, "no such document or revision"
	case errors.Is(err, doc.ErrExists):
		status, code, msg = http.StatusConflict, "exists", "a document with that id exists"
	case errors.Is(err, doc.ErrCorrupt):
		status, code, msg = http.StatusServiceUnavailable, session.CodeUnavailable, "the document cannot be read from the store"
	case errors.Is(err, session.ErrShutdown):
		status, code, msg = http.StatusServiceUnavailable, session.CodeShuttingDown, "server shutting down"
	case errors.Is(err, ot.ErrInvalid), errors.Is(err, ot.ErrNotDocument):
		status, code, msg = http.StatusBadRequest, session.CodeBadDelta, err.Error()
	case errors.Is(err, ot.ErrLength), errors.Is(err, ot.ErrSurrogate):
		status, code, msg = http.StatusUnprocessableEntity, session.CodeDoesNotFit, err.Error()
	case errors.Is(err, doc.ErrFutureBase):
		status, code, msg = http.StatusConflict, session.CodeFutureRev, "rev is ahead of the document"
	case errors.Is(err, doc.ErrSeqConflict):
		status, code, msg = http.StatusConflict, session.CodeSeqConflict, "seq was applied already with a different op"
	case errors.Is(err, doc.ErrSeqOld):
		status, code, msg = http.StatusConflict, session.CodeSeqOld, "seq is below the last one applied"
	case errors.Is(err, session.ErrDeltaTooLarge):
		status, code, msg = http.StatusRequestEntityTooLarge, session.CodeTooLarge, err.Error()
	case errors.Is(err, session.ErrTooLarge):
		status, code, msg = http.StatusRequestEntityTooLarge, session.CodeTooLarge, "the document would exceed its size limit"
	}
	if status >= 500 {
		srv.cfg.Logger.Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
	}
	writeError(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
