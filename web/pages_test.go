package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/session"
)

// metaStore is a session.Store that knows documents' metadata and
// nothing else: enough for the pages, which only look titles up. Its other
// methods are the nil embedded interface's, and panic.
type metaStore struct {
	session.Store
	metas map[string]doc.Meta
}

func (s metaStore) Meta(_ context.Context, id string) (doc.Meta, error) {
	if m, ok := s.metas[id]; ok {
		return m, nil
	}
	return doc.Meta{}, doc.ErrNotFound
}

func (metaStore) List(context.Context) ([]doc.Meta, error) { return nil, nil }

// builtDist is a small build output, as build.mjs writes it.
func builtDist() fstest.MapFS {
	js := []byte(strings.Repeat("console.log('editor');\n", 200))
	return fstest.MapFS{
		".gitkeep": {},
		"manifest.json": {Data: []byte(`{"version":"v1","entries":{
			"home":{"js":"/assets/home-A.js","css":"/assets/home-A.css","preload":["/assets/chunk-Q.js"]},
			"editor":{"js":"/assets/editor-B.js","css":"/assets/editor-B.css","preload":["/assets/chunk-Q.js"]},
			"frame":{"js":"/assets/frame-C.js","css":"/assets/frame-C.css"},
			"demo":{"js":"/assets/demo-D.js","css":"/assets/demo-D.css"}}}`)},
		"assets/home-A.js":    {Data: []byte("home()")},
		"assets/home-A.css":   {Data: []byte("body{}")},
		"assets/editor-B.js":  {Data: js},
		"assets/editor-B.css": {Data: []byte("body{}")},
		"assets/chunk-Q.js":   {Data: []byte("quill()")},
		"assets/frame-C.js":   {Data: []byte("frame()")},
		"assets/frame-C.css":  {Data: []byte("body{}")},
		"assets/demo-D.js":    {Data: []byte("demo()")},
		"assets/demo-D.css":   {Data: []byte("body{}")},
		"embed.js":            {Data: []byte("window.Cowrite={}")},
		"embed.css":           {Data: []byte(".cowrite-embed{}")},
		"cowrite.mjs":         {Data: []byte("export function mount(){}")},
		"cowrite.d.ts":        {Data: []byte("export declare function mount(): void;")},
		"cowrite.d.mts":       {Data: []byte("export declare function mount(): void;")},
		"sw.js":               {Data: []byte("self.addEventListener('fetch', () => {})")},
	}
}

// testPages returns a handler of the pages over the given build output.
func testPages(t *testing.T, fsys fstest.MapFS, allowed ...string) http.Handler {
	t.Helper()
	store := metaStore{metas: map[string]doc.Meta{
		"plan": {ID: "plan", Title: `Plan <script>alert(1)</script>`},
	}}
	m := session.NewManager(session.Config{Store: store})
	t.Cleanup(func() { m.Close(context.Background()) })
	srv := &Server{cfg: Config{Manager: m, AllowedOrigins: allowed}.withDefaults()}
	r := chi.NewRouter()
	srv.routePagesFrom(r, fsys)
	return r
}

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPages_NotBuilt(t *testing.T) {
	h := testPages(t, fstest.MapFS{".gitkeep": {}})
	for _, path := range []string{"/", "/d/plan", "/embed/plan", "/embed-demo"} {
		resp := get(t, h, path)
		b := body(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "make build") {
			t.Errorf("GET %s: %d %q, want 503 saying to run make build", path, resp.StatusCode, b)
		}
		if strings.Contains(b, "<script") {
			t.Errorf("GET %s: the not-built page has a script", path)
		}
	}
	if resp := get(t, h, "/embed.js"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /embed.js: %d, want 503", resp.StatusCode)
	}
}

func TestPages_IncompleteBuild(t *testing.T) {
	fsys := builtDist()
	delete(fsys, "assets/chunk-Q.js")
	if _, err := loadAssets(fsys); err == nil {
		t.Fatal("a manifest naming a missing file loaded")
	}
	h := testPages(t, fsys)
	if resp := get(t, h, "/"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /: %d, want 503", resp.StatusCode)
	}
}

func TestPages_Headers(t *testing.T) {
	const host = "https://app.example.com"
	h := testPages(t, builtDist(), host, "bad origin; script-src *")
	for _, tc := range []struct {
		path           string
		frameAncestors string
		frameSrc       string
		framable       bool
	}{
		{"/", "'none'", "'none'", false},
		{"/d/plan", "'none'", "'none'", false},
		{"/embed/plan", "'self' " + host, "'none'", true},
		{"/embed-demo", "'none'", "'self'", false},
	} {
		t.Run(strings.Trim(strings.ReplaceAll(tc.path+"_page", "/", "_"), "_"), func(t *testing.T) {
			resp := get(t, h, tc.path)
			b := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';",
				"frame-ancestors " + tc.frameAncestors + ";", "frame-src " + tc.frameSrc + ";", "base-uri 'none'"} {
				if !strings.Contains(csp+";", want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "bad origin") {
				t.Errorf("CSP %q", csp)
			}
			if got := resp.Header.Get("X-Frame-Options"); (got == "") != tc.framable {
				t.Errorf("X-Frame-Options %q", got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			// Scripts only by src: no inline script, no inline handler.
			if strings.Contains(b, "<script>") || strings.Contains(b, "onload=") || strings.Contains(b, "style=") {
				t.Errorf("inline script or style in %s", b)
			}
			if !strings.Contains(b, `<script type="module" src="/assets/`) {
				t.Errorf("no module script in %s", b)
			}
		})
	}
}

func TestPages_Editor(t *testing.T) {
	h := testPages(t, builtDist())
	resp := get(t, h, "/d/plan")
	b := body(t, resp)
	if strings.Contains(b, "<script>alert") {
		t.Fatalf("the title went into the page unescaped: %s", b)
	}
	for _, want := range []string{
		`Plan &lt;script&gt;alert(1)&lt;/script&gt;</h1>`,
		`data-doc="plan"`,
		`<link rel="modulepreload" href="/assets/chunk-Q.js">`,
		`<script type="module" src="/assets/editor-B.js">`,
		`<link rel="stylesheet" href="/assets/editor-B.css">`,
	} {
		if !strings.Contains(b, want) {
			t.Errorf("editor page lacks %s", want)
		}
	}
	// A document that does not exist yet opens (joining creates it).
	if resp := get(t, h, "/d/new-one"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /d/new-one: %d", resp.StatusCode)
	}
	for _, bad := range []string{"/d/.hidden", "/d/" + strings.Repeat("x", 129), "/embed/a%20b"} {
		if resp := get(t, h, bad); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, resp.StatusCode)
		}
	}
	// The offline shell is the editor without a document.
	shell := body(t, get(t, h, "/app-shell"))
	if !strings.Contains(shell, `data-shell="1"`) || !strings.Contains(shell, `data-doc=""`) {
		t.Errorf("shell page: %s", shell)
	}
}

func TestAssets_Serving(t *testing.T) {
	h := testPages(t, builtDist())
	for _, tc := range []struct {
		path, ctype, cache string
		cors               bool
	}{
		{"/assets/editor-B.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", false},
		{"/assets/editor-B.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable", false},
		{"/embed.js", "text/javascript; charset=utf-8", "no-cache", true},
		{"/embed.css", "text/css; charset=utf-8", "no-cache", true},
		{"/cowrite.mjs", "text/javascript; charset=utf-8", "no-cache", true},
		{"/cowrite.d.ts", "text/plain; charset=utf-8", "no-cache", true},
		{"/cowrite.d.mts", "text/plain; charset=utf-8", "no-cache", true},
		{"/sw.js", "text/javascript; charset=utf-8", "no-cache", false},
		{"/favicon.svg", "image/svg+xml", "public, max-age=86400", false},
	} {
		resp := get(t, h, tc.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", tc.path, resp.StatusCode)
			continue
		}
		hd := resp.Header
		if hd.Get("Content-Type") != tc.ctype || hd.Get("Cache-Control") != tc.cache || hd.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: type %q cache %q nosniff %q", tc.path, hd.Get("Content-Type"), hd.Get("Cache-Control"), hd.Get("X-Content-Type-Options"))
		}
		if (hd.Get("Access-Control-Allow-Origin") == "*") != tc.cors {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", tc.path, hd.Get("Access-Control-Allow-Origin"))
		}
		etag := hd.Get("ETag")
		if etag == "" {
			t.Errorf("GET %s: no ETag", tc.path)
			continue
		}
		if again := get(t, h, tc.path, "If-None-Match", etag); again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", tc.path, again.StatusCode)
		}
	}
	if resp := get(t, h, "/sw.js"); resp.Header.Get("Service-Worker-Allowed") != "/" {
		t.Errorf("sw.js: Service-Worker-Allowed %q", resp.Header.Get("Service-Worker-Allowed"))
	}
	if resp := get(t, h, "/assets/missing-X.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}

	// Compressed when the client takes gzip, with its own ETag.
	plain := get(t, h, "/assets/editor-B.js")
	zipped := get(t, h, "/assets/editor-B.js", "Accept-Encoding", "gzip, br")
	if zipped.Header.Get("Content-Encoding") != "gzip" || zipped.Header.Get("ETag") == plain.Header.Get("ETag") ||
		!strings.Contains(zipped.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip answer: %v", zipped.Header)
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, []byte(body(t, plain))) {
		t.Error("the gzip body is not the file")
	}
	if refused := get(t, h, "/assets/editor-B.js", "Accept-Encoding", "gzip;q=0"); refused.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
}

func TestPages_RealBuild(t *testing.T) {
	// The embedded build, when there is one: every page's bundles exist.
	m := session.NewManager(session.Config{Store: metaStore{}})
	defer m.Close(context.Background())
	srv := New(Config{Manager: m, PongWait: time.Second})
	resp := get(t, srv, "/")
	if resp.StatusCode == http.StatusServiceUnavailable {
		t.Skip("assets not built (make assets)")
	}
	b := body(t, resp)
	for _, part := range strings.Split(b, `"`) {
		if strings.HasPrefix(part, "/assets/") {
			if r := get(t, srv, part); r.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", part, r.StatusCode)
			}
		}
	}
}
