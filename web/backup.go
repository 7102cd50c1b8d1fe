package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog/hlog"
)

// BackupTrailer is the HTTP trailer that ends GET /v1/admin/backup's body:
// "ok" when the backup was written whole, "error" when it failed. The
// status (200) is sent with the first bytes, long before the backup ends,
// so a failure midway can only be told by this trailer, or by the body
// ending without the backup format's end frame (which Restore refuses: a
// truncated backup never restores as a smaller store). A client must
// treat a body without the trailer "ok" as failed.
const BackupTrailer = "X-Cowrite-Backup"

// backup streams a backup of the whole store, written by Config.Backup in
// one read transaction while the server keeps serving, to a server admin.
// One online backup runs at a time; another is refused with 409
// backup_running. A backup that fails before its first byte is answered
// with 500 backup_failed; after that, with the trailer "error".
func (srv *Server) backup(w http.ResponseWriter, r *http.Request) {
	admin, ok := srv.admin(w, r)
	if !ok {
		return
	}
	if srv.cfg.Backup == nil {
		writeError(w, http.StatusNotImplemented, "not_offered", "this server does not offer online backups")
		return
	}
	if !srv.backingUp.CompareAndSwap(false, true) {
		writeError(w, http.StatusConflict, "backup_running", "another online backup is running; try again once it ends")
		return
	}
	defer srv.backingUp.Store(false)

	start := time.Now()
	name := "cowrite-" + start.UTC().Format("20060102T150405Z") + ".backup"
	bw := &backupWriter{w: w, rc: http.NewResponseController(w), start: func() {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set("Trailer", BackupTrailer)
		w.WriteHeader(http.StatusOK)
	}}
	// The connection may serve more requests: leave it no deadline of ours.
	defer bw.rc.SetWriteDeadline(time.Time{})
	log := hlog.FromRequest(r)
	err := srv.cfg.Backup(r.Context(), bw)
	if err != nil {
		log.Error().Err(err).Str("admin", admin.User).Int64("bytes", bw.n).Msg("online backup failed")
		if !bw.started {
			writeError(w, http.StatusInternalServerError, "backup_failed", "the backup could not be written; see the server's log")
			return
		}
		w.Header().Set(BackupTrailer, "error")
		return
	}
	bw.begin() // in case Backup wrote nothing
	w.Header().Set(BackupTrailer, "ok")
	log.Info().Str("admin", admin.User).Int64("bytes", bw.n).Dur("took", time.Since(start)).Msg("online backup taken")
}

// backupStall is how long one write of a backup may take. A backup takes
// as long as the store is large, so the server's write timeout, if any,
// is replaced by this deadline on each write: a client that stops reading
// does not hold the read transaction, and the one backup slot, for ever.
const backupStall = time.Minute

// backupWriter sends the response's headers with its first bytes, so that
// a backup that fails before writing anything gets an error status, and
// gives each write a deadline of its own.
type backupWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	start   func()
	started bool
	n       int64
}

// begin sends the headers, once.
func (bw *backupWriter) begin() {
	if !bw.started {
		bw.started = true
		bw.start()
	}
}

func (bw *backupWriter) Write(p []byte) (int, error) {
	bw.begin()
	if err := bw.rc.SetWriteDeadline(time.Now().Add(backupStall)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	n, err := bw.w.Write(p)
	bw.n += int64(n)
	return n, err
}
