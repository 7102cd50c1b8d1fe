package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/session"
)

// The pages are html/template files; everything they show that a user
// supplied (a document's title or id) is escaped by the template, and the
// scripts that run on them come only from the built bundles (the
// Content-Security-Policy allows no inline script or style).
//
//go:embed static
var static embed.FS

var pageTemplates = template.Must(template.New("").ParseFS(static, "static/*.html"))

// pages serves the editor's pages and the built assets.
type pages struct {
	srv    *Server
	assets *assets
	// loadErr says why the assets could not be loaded, when they are
	// missing or incomplete.
	loadErr string
	// frameAncestors is the CSP source list of the pages that may frame
	// the embeddable editor: this server and the allowed origins.
	frameAncestors string
}

// pageData is what a page template gets.
type pageData struct {
	Page     string // the entry point: "home", "editor", "frame", "demo"
	Title    string // the document title, "" for none
	DocID    string
	JS, CSS  string   // the entry's bundle URLs
	Preload  []string // the chunks JS imports
	Problem  string   // why the assets are missing, on the not-built page
	Shell    bool     // the offline shell of the editor: no document in it
	ReadOnly bool
}

// routePages registers the pages and the built assets on r.
func (srv *Server) routePages(r chi.Router) {
	sub, _ := fs.Sub(dist, "dist")
	srv.routePagesFrom(r, sub)
}

// routePagesFrom registers the pages and assets, with the build outputs in
// fsys.
func (srv *Server) routePagesFrom(r chi.Router, fsys fs.FS) {
	p := &pages{srv: srv, frameAncestors: "'self'"}
	a, err := loadAssets(fsys)
	switch {
	case err != nil:
		srv.cfg.Logger.Error().Err(err).Msg("web assets unusable; pages answer 503")
		p.assets, p.loadErr = &assets{}, err.Error()
	case !a.built:
		srv.cfg.Logger.Warn().Msg("web assets not built (run make assets); pages answer 503")
		p.assets, p.loadErr = a, "The browser bundles are not in this binary."
	default:
		p.assets = a
	}
	// The same origins as the WebSocket origin check allows.
	for _, o := range validOrigins(srv.cfg.AllowedOrigins) {
		p.frameAncestors += " " + o
	}

	get := func(pattern string, h http.HandlerFunc) {
		r.Get(pattern, h)
		r.Head(pattern, h)
	}
	get("/", p.page("home", p.plain))
	get("/d/{id}", p.page("editor", p.document))
	get("/app-shell", p.page("editor", p.shell))
	get("/embed/{id}", p.page("frame", p.frame))
	get("/embed-demo", p.page("demo", p.plain))
	get("/favicon.svg", p.favicon)
	get("/favicon.ico", p.favicon)
	for _, name := range stableFiles {
		get("/"+name, p.asset)
	}
	get("/assets/*", p.asset)
}

// fill completes a page's data for a request; false means it answered
// already (an error page).
type fill func(w http.ResponseWriter, r *http.Request, d *pageData) bool

func (p *pages) plain(http.ResponseWriter, *http.Request, *pageData) bool { return true }

func (p *pages) shell(_ http.ResponseWriter, _ *http.Request, d *pageData) bool {
	d.Shell = true
	return true
}

func (p *pages) frame(w http.ResponseWriter, r *http.Request, d *pageData) bool {
	d.ReadOnly = r.URL.Query().Get("readOnly") == "1" || r.URL.Query().Get("readonly") == "1"
	return p.document(w, r, d)
}

// document checks the page's document id and looks the document up for
// its title. A document that does not exist yet still gets its page: the
// editor creates it empty when it joins, as the WebSocket endpoint does.
func (p *pages) document(w http.ResponseWriter, r *http.Request, d *pageData) bool {
	d.DocID = chi.URLParam(r, "id")
	if !session.ValidDocID(d.DocID) {
		p.problem(w, r, http.StatusNotFound, "No such document", "Document ids are 1 to 128 letters, digits, dots, dashes and underscores, not starting with a dot.")
		return false
	}
	if p.srv.cfg.Verifier != nil {
		// The page is public; with tokens, its title is not.
		return true
	}
	meta, err := p.srv.cfg.Manager.Meta(r.Context(), d.DocID)
	switch {
	case err == nil:
		d.Title = meta.Title
	case errors.Is(err, doc.ErrNotFound):
	default:
		// The editor still loads: its connection reports what is wrong,
		// and its offline copy, if any, stays usable.
		p.srv.cfg.Logger.Warn().Err(err).Str("doc", d.DocID).Msg("editor page: document metadata")
	}
	return true
}

// page returns the handler of a page built from the entry point entry.
func (p *pages) page(entry string, f fill) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !p.assets.built {
			p.notBuilt(w, r)
			return
		}
		e := p.assets.manifest.Entries[entry]
		d := pageData{Page: entry, JS: e.JS, CSS: e.CSS, Preload: e.Preload}
		if !f(w, r, &d) {
			return
		}
		p.render(w, r, http.StatusOK, entry+".html", d)
	}
}

func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, d); err != nil {
		p.srv.cfg.Logger.Error().Err(err).Str("page", name).Msg("render page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Content-Security-Policy", p.csp(d.Page))
	if d.Page != "frame" {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// csp is the Content-Security-Policy of a page: scripts, styles and
// connections from this server only, no inline script or style, and no
// framing except of the embeddable editor, by the allowed origins.
func (p *pages) csp(page string) string {
	frameAncestors, frameSrc := "'none'", "'none'"
	switch page {
	case "frame":
		frameAncestors = p.frameAncestors
	case "demo":
		frameSrc = "'self'"
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: https:",
		"font-src 'self'",
		"connect-src 'self'",
		"manifest-src 'self'",
		"worker-src 'self'",
		"frame-src " + frameSrc,
		"frame-ancestors " + frameAncestors,
		"base-uri 'none'",
		"form-action 'self'",
	}, "; ")
}

// notBuilt answers a page or asset request of a binary built without its
// browser bundles.
func (p *pages) notBuilt(w http.ResponseWriter, r *http.Request) {
	p.problem(w, r, http.StatusServiceUnavailable, "Assets not built",
		p.loadErr+" Run make build (which runs make assets, then go build) and start the new binary.")
}

// problem renders a page that explains a failure, with no script at all.
func (p *pages) problem(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p.render(w, r, status, "problem.html", pageData{Page: "problem", Title: title, Problem: msg})
}

func (p *pages) asset(w http.ResponseWriter, r *http.Request) {
	if !p.assets.built {
		http.Error(w, "assets not built: run make build", http.StatusServiceUnavailable)
		return
	}
	a := p.assets.files[r.URL.Path]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Path {
	case "/embed.js", "/embed.css", "/cowrite.mjs", "/cowrite.d.ts", "/cowrite.d.mts":
		// Loaded by pages of other origins: a module script needs CORS,
		// and a page with Cross-Origin-Embedder-Policy needs CORP.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	case "/sw.js":
		w.Header().Set("Service-Worker-Allowed", "/")
	}
	a.serve(w, r)
}

var favicon = newAsset("favicon.svg", must(fs.ReadFile(static, "static/favicon.svg")), "public, max-age=86400")

func (p *pages) favicon(w http.ResponseWriter, r *http.Request) { favicon.serve(w, r) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
