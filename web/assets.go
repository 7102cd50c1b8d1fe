package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// dist holds the browser bundles that web/build.mjs writes (`make
// assets`). The directory is not committed; a placeholder keeps the embed
// pattern valid on a fresh clone, and the server then serves a page that
// says how to build the assets.
//
//go:embed all:dist
var dist embed.FS

// manifestFile is the build's description of its outputs, written last.
const manifestFile = "manifest.json"

// manifest is what build.mjs writes to dist/manifest.json.
type manifest struct {
	// Version changes whenever any output changes.
	Version string `json:"version"`
	// Entries maps a page's entry point ("home", "editor", "frame",
	// "demo") to its script and style sheet URLs.
	Entries map[string]struct {
		JS      string   `json:"js"`
		CSS     string   `json:"css"`
		Preload []string `json:"preload"` // chunks the script imports
	} `json:"entries"`
}

// asset is one built file, ready to serve.
type asset struct {
	body  []byte
	gz    []byte // gzip-compressed body, nil when not worth it
	etag  string // strong ETag of body; the gzip variant appends "-gz"
	ctype string
	cache string // Cache-Control
}

// assets are the built files by URL path, and the manifest. A zero
// assets (built false) means the bundles were not built.
type assets struct {
	built    bool
	manifest manifest
	files    map[string]*asset
}

// Stable files, served at "/" and their name: host pages and bundlers
// refer to these by name, so they are revalidated (ETag) on every use.
// Everything under /assets/ has a content hash in its name and is cached
// for a year.
var stableFiles = []string{"embed.js", "embed.css", "cowrite.mjs", "cowrite.d.ts", "cowrite.d.mts", "sw.js"}

// loadAssets reads the build's outputs from fsys (the dist directory).
// A missing manifest means "not built" and is not an error; a manifest
// that names files that are not there is.
func loadAssets(fsys fs.FS) (*assets, error) {
	raw, err := fs.ReadFile(fsys, manifestFile)
	if err != nil {
		return &assets{}, nil
	}
	a := &assets{built: true, files: map[string]*asset{}}
	if err := json.Unmarshal(raw, &a.manifest); err != nil {
		return nil, fmt.Errorf("read %s: %w", manifestFile, err)
	}
	for _, name := range stableFiles {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("built assets incomplete: %w", err)
		}
		a.files["/"+name] = newAsset(name, body, "no-cache")
	}
	hashed, err := fs.ReadDir(fsys, "assets")
	if err != nil {
		return nil, fmt.Errorf("built assets incomplete: %w", err)
	}
	for _, e := range hashed {
		if e.IsDir() {
			continue
		}
		body, err := fs.ReadFile(fsys, "assets/"+e.Name())
		if err != nil {
			return nil, err
		}
		a.files["/assets/"+e.Name()] = newAsset(e.Name(), body, "public, max-age=31536000, immutable")
	}
	for name, e := range a.manifest.Entries {
		for _, url := range append([]string{e.JS, e.CSS}, e.Preload...) {
			if a.files[url] == nil {
				return nil, fmt.Errorf("built assets incomplete: entry %s names %q, which is missing", name, url)
			}
		}
	}
	return a, nil
}

func newAsset(name string, body []byte, cache string) *asset {
	sum := sha256.Sum256(body)
	a := &asset{body: body, etag: hex.EncodeToString(sum[:12]), ctype: contentType(name), cache: cache}
	if compressible(a.ctype) && len(body) > 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gz = buf.Bytes()
		}
	}
	return a
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".js"), strings.HasSuffix(name, ".mjs"):
		return "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".d.ts"), strings.HasSuffix(name, ".d.mts"):
		// TypeScript declarations, to save beside cowrite.mjs.
		return "text/plain; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		return "text/css; charset=utf-8"
	case strings.HasSuffix(name, ".json"), strings.HasSuffix(name, ".webmanifest"):
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") || strings.HasPrefix(ctype, "image/svg")
}

// serve writes the asset, or 304 when the client has it, compressed when
// the client accepts gzip.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", a.cache)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if a.gz != nil && acceptsGzip(r) {
		body, etag = a.gz, etag+"-gz"
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", `"`+etag+`"`)
	// ServeContent answers If-None-Match and HEAD; embedded files have no
	// modification time worth sending.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}
