//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/persist"
	"github.com/cowrite/cowrite/session/client"
)

// The tests in this file drive backup, restore, export and import through
// the real binary, as an operator would.

// runCLI runs `cowrite args...` with env added to this process's
// environment, and returns its standard output and error and its exit
// code. It fails the test when the command runs for more than a minute.
func runCLI(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cowriteBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cowrite %s: still running after a minute", strings.Join(args, " "))
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("cowrite %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// mustCLI runs `cowrite args...` and fails the test unless it exits 0.
func mustCLI(t testing.TB, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, env, args...)
	if code != 0 {
		t.Fatalf("cowrite %s: exit %d:\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// startTokenBinary starts the binary with tokens signed by authSecret
// (mint's), snapshots every 5 ops.
func startTokenBinary(t *testing.T, name, dir string) *cowriteProc {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, authSecret, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startCowrite(t, name, loopbackAddr(t), dir, nil, "--jwt-secret-file", secret,
		"--jwt-issuer", authIssuer, "--jwt-audience", authAudience, "--snapshot-every", "5")
	p.waitReady()
	return p
}

// mustDelta decodes a delta from JSON.
func mustDelta(t testing.TB, s string) ot.Delta {
	t.Helper()
	var d ot.Delta
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("delta %s: %v", s, err)
	}
	return d
}

// writeHistory creates two documents through the REST API, one with
// formatting, a link and an image embed, and gives each a history of ops
// that cross a few snapshots.
func writeHistory(t *testing.T, base, token string) {
	t.Helper()
	rich := mustDelta(t, `[
		{"insert": "Title"}, {"insert": "\n", "attributes": {"header": 1}},
		{"insert": "bold", "attributes": {"bold": true}}, {"insert": " and "},
		{"insert": "a link", "attributes": {"link": "https://example.com/"}},
		{"insert": {"image": "https://example.com/cat.png"}, "attributes": {"alt": "cat"}},
		{"insert": "\n"}]`)
	docs := map[string]ot.Delta{"rich": rich, "plain": ins(0, "plain text\n")}
	for _, id := range []string{"rich", "plain"} {
		if r := fetch(t, token, http.MethodPost, base+"/v1/docs", map[string]any{"id": id, "title": id + " title", "content": docs[id]}); r.status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", id, r.status, r.body)
		}
		for i := range 12 {
			var d ot.Delta
			if i%3 == 2 { // restyle the first word
				d.Retain(4, ot.Attributes{"italic": true})
			} else {
				d.Insert(strings.Repeat("ab", i+1), nil)
			}
			r := fetch(t, token, http.MethodPost, base+"/v1/docs/"+id+"/ops", map[string]any{"rev": i, "delta": d, "client": "writer", "seq": i + 1})
			if r.status != http.StatusOK {
				t.Fatalf("op %d on %s: %d %s", i+1, id, r.status, r.body)
			}
		}
	}
}

// openDataDir opens a data directory in this process.
func openDataDir(t *testing.T, dir string) *persist.Store {
	t.Helper()
	s, err := persist.Open(context.Background(), persist.Options{Dir: dir, Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkRestored checks the store restored from a backup against the
// original it was taken from (which may have gone on since): the same
// documents, each with a new epoch, the same title and creation time, and
// at the backup's revision the same content and the same ops, every
// field. It returns each document's restored revision.
func checkRestored(t *testing.T, orig, restored *persist.Store) map[string]doc.Rev {
	t.Helper()
	ctx := context.Background()
	om, err := orig.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := restored.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ms []doc.Meta) (out []string) {
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if !slices.Equal(ids(om), ids(rm)) {
		t.Fatalf("restored documents %v, original %v", ids(rm), ids(om))
	}
	revs := map[string]doc.Rev{}
	for i, r := range rm {
		o := om[i]
		revs[r.ID] = r.Rev
		if r.Epoch == o.Epoch || r.Epoch == "" {
			t.Errorf("%s: restored epoch %q, original %q: want a new one", r.ID, r.Epoch, o.Epoch)
		}
		if r.Title != o.Title || !r.Created.Equal(o.Created) {
			t.Errorf("%s: restored title %q created %v, original %q %v", r.ID, r.Title, r.Created, o.Title, o.Created)
		}
		if r.Rev > o.Rev || r.Rev == 0 {
			t.Errorf("%s: restored at revision %d, original at %d", r.ID, r.Rev, o.Rev)
			continue
		}
		rops, err := restored.Ops(ctx, r.ID, 0, r.Rev)
		if err != nil {
			t.Fatalf("%s: restored ops: %v", r.ID, err)
		}
		oops, err := orig.Ops(ctx, r.ID, 0, r.Rev)
		if err != nil {
			t.Fatalf("%s: original ops: %v", r.ID, err)
		}
		if !reflect.DeepEqual(rops, oops) {
			t.Errorf("%s: the %d restored ops differ from the original's", r.ID, len(rops))
		}
		rc, err := restored.At(ctx, r.ID, r.Rev)
		if err != nil {
			t.Fatalf("%s: restored content: %v", r.ID, err)
		}
		oc, err := orig.At(ctx, r.ID, r.Rev)
		if err != nil {
			t.Fatalf("%s: original content: %v", r.ID, err)
		}
		if !reflect.DeepEqual(rc, oc) {
			t.Errorf("%s@%d: restored content %v, original %v", r.ID, r.Rev, rc, oc)
		}
		// The restored store serves the document: Load replays it whole.
		if _, err := restored.Load(ctx, r.ID); err != nil {
			t.Errorf("%s: load restored: %v", r.ID, err)
		}
	}
	return revs
}

// onlyFiles fails the test when dir holds other files than want.
func onlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %v, want %v", dir, got, want)
	}
}

// TestBinaryBackup backs up a running server with cowrite backup --url
// while a client types, restores the file with cowrite restore and checks
// every document against the original; then does the same offline, with
// the server stopped.
func TestBinaryBackup(t *testing.T) {
	dir := t.TempDir()
	srv := startTokenBinary(t, "server", dir)
	editor := mint(t, "ann", "Ann", map[string]any{"*": "edit"}, nil)
	admin := []string{"COWRITE_TOKEN=" + mint(t, "ops", "Ops", map[string]any{"*": "admin"}, nil)}
	writeHistory(t, srv.url(), editor)

	// A typist goes on while the backup is taken.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	typist, err := client.Dial(ctx, client.Options{URL: srv.wsURL("typed"), Token: editor, Name: "typist"})
	if err != nil {
		t.Fatal(err)
	}
	defer typist.Close()
	stop, stopped := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				stopped <- nil
				return
			case <-tick.C:
				if err := typist.Submit(ins(0, "x")); err != nil {
					stopped <- err
					return
				}
			}
		}
	}()
	if err := typist.WaitRev(ctx, 10); err != nil {
		t.Fatalf("typist: %v", err)
	}

	out := t.TempDir()
	online := filepath.Join(out, "online.backup")
	start := time.Now()
	mustCLI(t, admin, "backup", "--url", srv.url(), "--out", online)
	t.Logf("online backup took %v", time.Since(start).Round(time.Millisecond))
	onlyFiles(t, out, "online.backup")

	// The offline command on the running server's directory points at
	// --url.
	if _, errOut, code := runCLI(t, nil, "backup", "--data", dir, "--out", filepath.Join(out, "no.backup")); code == 0 || !strings.Contains(errOut, "--url") {
		t.Errorf("backup --data of a running server: exit %d, want an error that names --url:\n%s", code, errOut)
	}
	onlyFiles(t, out, "online.backup")

	if err := typist.WaitRev(ctx, typist.Rev()+10); err != nil {
		t.Fatalf("typist after the backup: %v", err)
	}
	close(stop)
	if err := <-stopped; err != nil {
		t.Fatalf("typist: %v", err)
	}
	if err := typist.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	typist.Close()
	srv.signal(syscall.SIGTERM)
	if code := srv.wait(time.Minute); code != 0 {
		t.Fatalf("server exited %d:\n%s", code, srv.logTail(20))
	}
	if !strings.Contains(srv.log(), `"admin":"ops"`) || !strings.Contains(srv.log(), "online backup taken") {
		t.Errorf("the server did not log who took the backup:\n%s", srv.logTail(20))
	}

	t.Run("online", func(t *testing.T) {
		restoredDir := filepath.Join(t.TempDir(), "restored")
		mustCLI(t, nil, "restore", "--data", restoredDir, "--in", online)
		orig, restored := openDataDir(t, dir), openDataDir(t, restoredDir)
		revs := checkRestored(t, orig, restored)
		for _, id := range []string{"plain", "rich"} {
			if revs[id] != 12 {
				t.Errorf("%s restored at revision %d, want 12 (written before the backup)", id, revs[id])
			}
		}
		m, err := orig.Meta(context.Background(), "typed")
		if err != nil {
			t.Fatal(err)
		}
		if revs["typed"] < 10 || revs["typed"] >= m.Rev {
			t.Errorf("typed restored at revision %d: want one between 10 (before the backup) and %d (the end, after it)", revs["typed"], m.Rev)
		}
		t.Logf("typed: backed up at revision %d of %d", revs["typed"], m.Rev)
	})

	t.Run("offline", func(t *testing.T) {
		offline := filepath.Join(out, "offline.backup")
		mustCLI(t, nil, "backup", "--data", dir, "--out", offline)
		restoredDir := filepath.Join(t.TempDir(), "restored")
		mustCLI(t, nil, "restore", "--data", restoredDir, "--in", offline)
		// A restore into a directory that holds data is refused.
		if _, errOut, code := runCLI(t, nil, "restore", "--data", restoredDir, "--in", offline); code == 0 || !strings.Contains(errOut, "not empty") {
			t.Errorf("restore into a restored store: exit %d:\n%s", code, errOut)
		}
		orig, restored := openDataDir(t, dir), openDataDir(t, restoredDir)
		revs := checkRestored(t, orig, restored)
		for id, rev := range revs {
			if m, err := orig.Meta(context.Background(), id); err != nil || m.Rev != rev {
				t.Errorf("%s restored at revision %d, stopped store's at %d (%v)", id, rev, m.Rev, err)
			}
		}
	})
}

// TestBinaryBackup_auth checks who may fetch GET /v1/admin/backup: only
// a server admin, and nobody in open mode.
func TestBinaryBackup_auth(t *testing.T) {
	srv := startTokenBinary(t, "server", t.TempDir())
	open := startCowrite(t, "open server", loopbackAddr(t), t.TempDir(), nil)
	open.waitReady()
	tests := []struct {
		name   string
		url    string
		token  string
		status int
	}{
		{name: "no_token", url: srv.url(), status: http.StatusUnauthorized},
		{name: "editor", url: srv.url(), token: mint(t, "ann", "Ann", map[string]any{"*": "edit"}, nil), status: http.StatusForbidden},
		{name: "doc_admin", url: srv.url(), token: mint(t, "ann", "Ann", map[string]any{"notes": "admin"}, nil), status: http.StatusForbidden},
		{name: "admin", url: srv.url(), token: mint(t, "ops", "Ops", map[string]any{"*": "admin"}, nil), status: http.StatusOK},
		{name: "open_mode", url: open.url(), token: mint(t, "ops", "Ops", map[string]any{"*": "admin"}, nil), status: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fetch(t, tc.token, http.MethodGet, tc.url+"/v1/admin/backup", nil)
			if got.status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", got.status, tc.status, got.body)
			}
			if got.status == http.StatusOK && !bytes.HasPrefix(got.body, []byte("COWRITE-BACKUP\n")) {
				t.Errorf("body %.40q is not a backup", got.body)
			}
			// The CLI succeeds exactly when the endpoint does.
			dir := t.TempDir()
			var env []string
			if tc.token != "" {
				env = []string{"COWRITE_TOKEN=" + tc.token}
			}
			_, errOut, exit := runCLI(t, env, "backup", "--url", tc.url, "--out", filepath.Join(dir, "b"))
			if (exit == 0) != (tc.status == http.StatusOK) {
				t.Errorf("cowrite backup exit %d:\n%s", exit, errOut)
			}
			if exit == 0 {
				onlyFiles(t, dir, "b")
			} else {
				onlyFiles(t, dir)
			}
		})
	}
}

// TestBinaryBackup_incomplete points cowrite backup --url at servers that
// send a real backup only in part, damaged, or with the server's failure
// in the trailer: the command fails and leaves no file.
func TestBinaryBackup_incomplete(t *testing.T) {
	cowriteBinary(t) // built once for every case
	// A real backup, of a store with one document.
	ctx := context.Background()
	store := openDataDir(t, t.TempDir())
	if err := store.Import(ctx, "notes", "notes", ins(0, strings.Repeat("some notes\n", 500))); err != nil {
		t.Fatal(err)
	}
	var whole bytes.Buffer
	if err := store.Backup(ctx, &whole, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter)
		says  string
	}{
		{name: "broken_off", says: "broke off", serve: func(w http.ResponseWriter) {
			w.Header().Set("Trailer", "X-Cowrite-Backup")
			w.Write(whole.Bytes()[:whole.Len()/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // close the connection mid-body
		}},
		// A proxy that drops trailers: the bytes alone must tell.
		{name: "half_without_trailer", says: "not a whole backup", serve: func(w http.ResponseWriter) {
			w.Write(whole.Bytes()[:whole.Len()/2])
		}},
		{name: "all_but_the_last_byte", says: "not a whole backup", serve: func(w http.ResponseWriter) {
			w.Header().Set("Trailer", "X-Cowrite-Backup")
			w.Write(whole.Bytes()[:whole.Len()-1])
			w.Header().Set("X-Cowrite-Backup", "ok")
		}},
		{name: "damaged", says: "not a whole backup", serve: func(w http.ResponseWriter) {
			b := bytes.Clone(whole.Bytes())
			b[len(b)/2] ^= 0x55
			w.Write(b)
		}},
		{name: "trailer_error", says: "server failed", serve: func(w http.ResponseWriter) {
			w.Header().Set("Trailer", "X-Cowrite-Backup")
			w.Write(whole.Bytes()[:whole.Len()/2])
			w.Header().Set("X-Cowrite-Backup", "error")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/admin/backup" || r.Header.Get("Authorization") != "Bearer tok" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/octet-stream")
				tc.serve(w)
			}))
			defer ts.Close()
			dir := t.TempDir()
			_, errOut, code := runCLI(t, []string{"COWRITE_TOKEN=tok"}, "backup", "--url", ts.URL, "--out", filepath.Join(dir, "b"))
			if code == 0 || !strings.Contains(errOut, tc.says) {
				t.Errorf("exit %d, want an error saying %q:\n%s", code, tc.says, errOut)
			}
			onlyFiles(t, dir)
		})
	}
	// Sent whole, confirmed or not (a proxy may drop the trailer): the
	// file is the backup, byte for byte.
	for _, trailer := range []bool{true, false} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if trailer {
				w.Header().Set("Trailer", "X-Cowrite-Backup")
			}
			w.Write(whole.Bytes())
			if trailer {
				w.Header().Set("X-Cowrite-Backup", "ok")
			}
		}))
		dir := t.TempDir()
		mustCLI(t, []string{"COWRITE_TOKEN=tok"}, "backup", "--url", ts.URL, "--out", filepath.Join(dir, "b"))
		if b, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || !bytes.Equal(b, whole.Bytes()) {
			t.Errorf("trailer %v: backup file differs from what was sent (%v)", trailer, err)
		}
		ts.Close()
	}
}

// TestBinaryExportImport round-trips documents through cowrite import and
// cowrite export, on a stopped data directory.
func TestBinaryExportImport(t *testing.T) {
	cowriteBinary(t) // built once for every case
	data, files := t.TempDir(), t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	export := func(id, format string, extra ...string) string {
		t.Helper()
		return mustCLI(t, nil, append([]string{"export", "--data", data, "--doc", id, "--format", format}, extra...)...)
	}

	t.Run("txt", func(t *testing.T) {
		const text = "first line\n\nthird line, with ünïcode and 😀\n"
		mustCLI(t, nil, "import", "--data", data, "--doc", "text", write("notes.txt", text))
		if got := export("text", "txt"); got != text {
			t.Errorf("txt round trip: %q, want %q", got, text)
		}
	})

	t.Run("json", func(t *testing.T) {
		const delta = `[{"insert":"Heading"},{"insert":"\n","attributes":{"header":2}},` +
			`{"insert":"bold","attributes":{"bold":true}},{"insert":" "},{"insert":"italic","attributes":{"italic":true}},` +
			`{"insert":{"image":"https://example.com/a.png"}},{"insert":"\nitem"},{"insert":"\n","attributes":{"list":"bullet"}}]`
		mustCLI(t, nil, "import", "--data", data, "--doc", "delta", write("d.json", delta))
		got := mustDelta(t, export("delta", "json"))
		if want := mustDelta(t, delta); !reflect.DeepEqual(got, want) {
			t.Errorf("json round trip:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("md", func(t *testing.T) {
		const md = "# Title\n\nSome **bold**, *italic*, ~~struck~~ and `code`, a [link](https://example.com/).\n\n" +
			"- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n```\ncode block\n```\n"
		mustCLI(t, nil, "import", "--data", data, "--doc", "md", write("in.md", md))
		exported := export("md", "md")
		// Markdown may be normalised once; what it reads back is stable.
		mustCLI(t, nil, "import", "--data", data, "--doc", "md2", write("again.md", exported))
		a, b := mustDelta(t, export("md", "json")), mustDelta(t, export("md2", "json"))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("md round trip changed the document:\n first %v\nsecond %v\nexported:\n%s", a, b, exported)
		}
		if again := export("md2", "md"); again != exported {
			t.Errorf("md export is not stable:\n%s\nthen\n%s", exported, again)
		}
		for _, want := range []string{"# Title", "**bold**", "~~struck~~", "`code`", "[link](", "https://example.com/", "> quoted"} {
			if !strings.Contains(exported, want) {
				t.Errorf("md export lost %q:\n%s", want, exported)
			}
		}
	})

	t.Run("html_is_safe", func(t *testing.T) {
		const delta = `[{"insert":"<script>alert(1)</script> "},` +
			`{"insert":"click","attributes":{"link":"javascript:alert(1)"}},{"insert":" "},` +
			`{"insert":"quote","attributes":{"link":"https://example.com/\" onmouseover=\"alert(1)"}},` +
			`{"insert":{"image":"javascript:alert(2)"}},{"insert":"\n"}]`
		mustCLI(t, nil, "import", "--data", data, "--doc", "evil", write("evil.json", delta))
		html := export("evil", "html")
		for _, bad := range []string{"<script", "javascript:", `" onmouseover`, `onmouseover="`} {
			if strings.Contains(html, bad) {
				t.Errorf("html export holds %q:\n%s", bad, html)
			}
		}
		if !strings.Contains(html, "&lt;script&gt;") {
			t.Errorf("html export does not show the script tag as text:\n%s", html)
		}
	})

	t.Run("rev", func(t *testing.T) {
		mustCLI(t, nil, "import", "--data", data, "--doc", "revs", write("v1.txt", "version one\n"))
		mustCLI(t, nil, "import", "--data", data, "--doc", "revs", write("v2.txt", "version two\n"))
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--rev", "0"}, "version one\n"},
			{[]string{"--rev", "1"}, "version two\n"},
			{nil, "version two\n"},
		} {
			if got := export("revs", "txt", tc.args...); got != tc.want {
				t.Errorf("export %v: %q, want %q", tc.args, got, tc.want)
			}
		}
		out := filepath.Join(files, "at0.txt")
		mustCLI(t, nil, "export", "--data", data, "--doc", "revs", "--rev", "0", "--out", out)
		if b, err := os.ReadFile(out); err != nil || string(b) != "version one\n" {
			t.Errorf("export --out (format from the extension): %q %v", b, err)
		}
	})

	t.Run("missing", func(t *testing.T) {
		for _, args := range [][]string{
			{"--doc", "nosuch"},
			{"--doc", "revs", "--rev", "99"},
		} {
			out, errOut, code := runCLI(t, nil, append([]string{"export", "--data", data, "--format", "txt"}, args...)...)
			if code == 0 || out != "" || !strings.Contains(errOut, "not found") {
				t.Errorf("export %v: exit %d, stdout %q, want an error saying not found:\n%s", args, code, out, errOut)
			}
		}
	})
}
