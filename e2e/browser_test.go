package e2e

// Browser tests: the editor, the embeds and the service worker in a real
// Chromium (Debian's package, headless), driven by chromedp, against the
// real server in this process. They need the web assets built into the
// binary (make assets) and Chromium at /usr/bin/chromium (or
// $COWRITE_CHROMIUM); without either they skip, or fail under
// COWRITE_STRICT=1 (make test).
//
// Screenshots of the two-user test go to $COWRITE_SCREENSHOTS, or to a new
// temporary directory whose path the test logs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/web"
)

// browserWait bounds each wait for the browser to reach a state.
const browserWait = 20 * time.Second

// chromium returns the path of the browser, or skips the test (fails it
// under COWRITE_STRICT=1) when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COWRITE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium (apt-get install chromium, or set COWRITE_CHROMIUM)"
	if os.Getenv("COWRITE_STRICT") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// requireAssets skips (or fails, strictly) when the binary was built
// without its browser bundles.
func requireAssets(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		const msg = "web assets not built into the test binary (run make assets)"
		if os.Getenv("COWRITE_STRICT") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// link is the network between a browser and a server: a TCP relay that a
// test can cut (every connection dropped, new ones refused, as when the
// machine goes offline) and restore.
type link struct {
	t      *testing.T
	addr   string // where browsers connect
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newLink(t *testing.T, target string) *link {
	t.Helper()
	l := &link{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	l.serve(ln)
	t.Cleanup(func() {
		l.down()
		l.wg.Wait()
	})
	return l
}

// url is the base URL browsers use through the link.
func (l *link) url() string { return "http://" + l.addr }

func (l *link) serve(ln net.Listener) {
	l.mu.Lock()
	l.ln = ln
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.wg.Add(1)
			go l.relay(c)
		}
	}()
}

func (l *link) relay(c net.Conn) {
	defer l.wg.Done()
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		c.Close()
		return
	}
	l.mu.Lock()
	if l.ln == nil {
		l.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	l.conns[c], l.conns[up] = true, true
	l.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	c.Close()
	up.Close()
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, up)
	l.mu.Unlock()
}

// down cuts the link: open connections drop, new ones are refused.
func (l *link) down() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as a dead network gives
		}
		c.Close()
	}
}

// up restores the link on the same address.
func (l *link) up() {
	l.t.Helper()
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ {
		if ln, err = net.Listen("tcp", l.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		l.t.Fatalf("restore link on %s: %v", l.addr, err)
	}
	l.serve(ln)
}

// browser is one Chromium process with its own profile: one person's
// browser.
type browser struct {
	t      *testing.T
	name   string
	ctx    context.Context // the browser's first tab, left blank
	cancel context.CancelFunc
}

func newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		acancel()
		t.Fatalf("start %s: %v", path, err)
	}
	b := &browser{t: t, name: name, ctx: ctx, cancel: func() { cancel(); acancel() }}
	t.Cleanup(b.cancel)
	return b
}

// tab is one page in a browser. It answers every dialog (accepting
// beforeunload, so that closing works) and counts the script dialogs
// (alert, confirm, prompt), which no page here should ever open. It
// records exceptions and Content-Security-Policy violations.
type tab struct {
	t       *testing.T
	b       *browser
	ctx     context.Context
	cancel  context.CancelFunc
	alerts  atomic.Int32 // alert, confirm and prompt dialogs
	unloads atomic.Int32 // beforeunload dialogs

	mu       sync.Mutex
	problems []string
}

// open opens url in a new tab.
func (b *browser) open(url string) *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb := &tab{t: b.t, b: b, ctx: ctx, cancel: cancel}
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("%s: new tab: %v", b.name, err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	console := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			if ev.Type == page.DialogTypeBeforeunload {
				tb.unloads.Add(1)
			} else {
				tb.alerts.Add(1)
				tb.problem("a %s dialog opened: %q", ev.Type, ev.Message)
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			tb.problem("exception at %s:%d: %s", d.URL, d.LineNumber, msg)
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			e := ev.Entry
			if strings.Contains(e.Text, "Content Security Policy") || strings.Contains(e.Text, "Content-Security-Policy") {
				tb.problem("CSP violation: %s", e.Text)
			}
		}
	}()
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var parts []string
				for _, a := range ev.Args {
					if a.Description != "" {
						parts = append(parts, a.Description)
					} else {
						parts = append(parts, string(a.Value))
					}
				}
				b.t.Logf("%s console.%s: %s", b.name, ev.Type, strings.Join(parts, " "))
			}
		}
	}()
	if _, err := chromedp.Call(ctx, cdplog.Enable, struct{}{}); err != nil {
		b.t.Fatalf("log.enable: %v", err)
	}
	if url != "" {
		tb.navigate(url)
	}
	return tb
}

func (tb *tab) problem(format string, args ...any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.problems = append(tb.problems, fmt.Sprintf(format, args...))
}

// checkClean fails the test for every exception, CSP violation and script
// dialog the tab saw.
func (tb *tab) checkClean() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Errorf("%s: %s", tb.b.name, p)
	}
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %s: %v", tb.b.name, what, err)
	}
}

func (tb *tab) navigate(url string) { tb.do("open "+url, chromedp.Navigate(url)) }

// eval evaluates a JavaScript expression (awaiting a promise) in the tab.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := evalErr[T](tb, expr)
	if err != nil {
		tb.t.Fatalf("%s: eval %s: %v", tb.b.name, expr, err)
	}
	return v
}

func evalErr[T any](tb *tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitFor polls a JavaScript expression until it is true.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		ok, err := evalErr[bool](tb, "!!("+expr+")")
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: timed out waiting for %s (%s; last error %v)", tb.b.name, what, expr, err)
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// close closes the tab, as a user closing it would (beforeunload runs).
func (tb *tab) close() {
	tb.t.Helper()
	if err := chromedp.Cancel(tb.ctx); err != nil && !errors.Is(err, context.Canceled) {
		tb.t.Fatalf("%s: close tab: %v", tb.b.name, err)
	}
	tb.cancel()
}

// Editor-page helpers. The page exposes window.cowriteEditor (quill,
// client) for the console; the tests read state through it and act
// through real input events.

// identify answers the identity dialog: a name and the colour at index i.
func (tb *tab) identify(name string, color int) {
	tb.t.Helper()
	tb.do("identity dialog",
		chromedp.WaitVisible(chromedp.ID("identity-name")),
		chromedp.SendKeys(chromedp.ID("identity-name"), name),
		chromedp.Click(chromedp.CSS(fmt.Sprintf("#identity-colors input:nth-child(%d)", color+1))),
		chromedp.Click(chromedp.CSS("#identity-form button")),
		chromedp.WaitNotVisible(chromedp.ID("identity-dialog")),
	)
}

// waitEditable waits until the editor has loaded its document and may be
// typed in.
func (tb *tab) waitEditable() {
	tb.t.Helper()
	tb.waitFor("the editor to load", `window.cowriteEditor && cowriteEditor.quill.isEnabled()`)
}

// select puts the caret (or a selection) at index in the focused editor.
func (tb *tab) selectAt(index, length int) {
	tb.t.Helper()
	eval[chromedp.Void](tb, fmt.Sprintf(`(cowriteEditor.quill.focus(), cowriteEditor.quill.setSelection(%d, %d, 'user'), undefined)`, index, length))
}

// typeText types text at the caret, one key at a time.
func (tb *tab) typeText(text string) {
	tb.t.Helper()
	tb.do("type", chromedp.KeyEvent(text))
}

// typeAt puts the caret at index and types.
func (tb *tab) typeAt(index int, text string) {
	tb.t.Helper()
	tb.selectAt(index, 0)
	tb.typeText(text)
}

func (tb *tab) text() string {
	tb.t.Helper()
	return eval[string](tb, `cowriteEditor.quill.getText()`)
}

// length is the editor's document length, its final newline included.
func (tb *tab) length() int {
	tb.t.Helper()
	return eval[int](tb, `cowriteEditor.quill.getLength()`)
}

func (tb *tab) contents() ot.Delta {
	tb.t.Helper()
	raw := eval[string](tb, `JSON.stringify(cowriteEditor.quill.getContents())`)
	var d ot.Delta
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		tb.t.Fatalf("%s: editor contents %s: %v", tb.b.name, raw, err)
	}
	return d
}

func (tb *tab) status() string {
	tb.t.Helper()
	return eval[string](tb, `document.querySelector('#status .status-label').textContent`)
}

func (tb *tab) waitStatus(want string) {
	tb.t.Helper()
	tb.waitFor("status "+want, fmt.Sprintf(`document.querySelector('#status .status-label').textContent === %q`, want))
}

// screenshot saves the visible page as dir/name.png.
func (tb *tab) screenshot(dir, name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("%s: screenshot: %v", tb.b.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// screenshotDir returns where screenshots go, and logs it.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COWRITE_SCREENSHOTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "cowrite-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// createDoc makes a document through the REST API, ending with the
// newline every Quill document has.
func createDoc(t *testing.T, base, id, title, text string) {
	t.Helper()
	r := fetch(t, "", http.MethodPost, base+"/v1/docs", map[string]any{"id": id, "title": title, "text": text + "\n"})
	if r.status != http.StatusCreated {
		t.Fatalf("create %s: HTTP %d", id, r.status)
	}
}

// converged waits until every tab's editor shows the server's latest
// content, each reads Saved, and returns that content.
func converged(t *testing.T, s *server, id string, tabs ...*tab) ot.Delta {
	t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		want, _ := s.content(t, id)
		ok := true
		var why string
		for _, tb := range tabs {
			if st := tb.status(); st != "Saved" {
				ok, why = false, fmt.Sprintf("%s reads %q", tb.b.name, st)
				break
			}
			if got := tb.contents(); !got.Equal(want) {
				ok, why = false, fmt.Sprintf("%s shows %v, the server has %v", tb.b.name, got, want)
				break
			}
		}
		if ok {
			return want
		}
		if time.Now().After(deadline) {
			t.Fatalf("editors did not converge: %s", why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parallel runs the functions at the same time and waits for them all.
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}

// TestBrowser_TwoUsers has two people (two browsers, two profiles) type,
// delete and format in one document at the same time, at several
// positions. Both editors and the server end with the same content; each
// sees the other's caret with the right name, and the other in the
// presence bar. Screenshots of both go to screenshotDir.
func TestBrowser_TwoUsers(t *testing.T) {
	chromium(t)
	s := startServer(t, "", serverOpts{})
	base := s.http.URL
	requireAssets(t, base)
	shots := screenshotDir(t)

	ann, ben := newBrowser(t, "ann"), newBrowser(t, "ben")
	// Ann makes the document from the home page.
	a := ann.open(base + "/")
	a.do("home page", chromedp.WaitVisible(chromedp.ID("new-doc")))
	a.do("new document",
		chromedp.Click(chromedp.ID("new-doc")),
		chromedp.WaitVisible(chromedp.ID("new-title")),
		chromedp.SendKeys(chromedp.ID("new-title"), "Launch plan"),
		chromedp.Click(chromedp.CSS(`#new-form button[value="create"]`)),
	)
	a.waitFor("the editor page", `location.pathname.startsWith('/d/')`)
	a.identify("Ann Lee", 0)
	a.waitEditable()
	id := strings.TrimPrefix(eval[string](a, `location.pathname`), "/d/")
	if got := eval[string](a, `document.getElementById('doc-title').textContent`); got != "Launch plan" {
		t.Errorf("title %q, want Launch plan", got)
	}

	a.typeAt(0, "Launch plan\nGoals for the quarter. ")
	b := ben.open(base + "/d/" + id)
	b.identify("Ben Okafor", 1)
	b.waitEditable()
	converged(t, s, id, a, b)

	// Rounds of simultaneous edits. In each, both put their carets (or
	// selections) first, then act at the same time: each editor moves its
	// own caret through the other's edits, as it must.
	at := func(tb *tab, anchor string, after bool) int {
		t.Helper()
		text := tb.text()
		i := strings.Index(text, anchor)
		if i < 0 {
			t.Fatalf("%s: no %q in %q", tb.b.name, anchor, text)
		}
		if after {
			i += len(anchor)
		}
		return i
	}
	// Type at the start and in the middle.
	a.selectAt(0, 0)
	b.selectAt(at(b, "quarter.", true), 0)
	parallel(func() { a.typeText("Draft: ") }, func() { b.typeText(" Talk to users.") })
	// Type at the end and in the first line.
	converged(t, s, id, a, b)
	a.selectAt(a.length()-1, 0)
	b.selectAt(at(b, "Launch", true), 0)
	parallel(func() { a.typeText("\nShip the editor.") }, func() { b.typeText(" v1") })
	converged(t, s, id, a, b)
	// Format at once: Ann bolds a word, Ben makes the first line a heading.
	a.selectAt(at(a, "Goals", false), len("Goals"))
	b.selectAt(2, 0)
	parallel(
		func() { a.do("bold", chromedp.Click(chromedp.CSS("#toolbar button.ql-bold"))) },
		func() {
			b.do("heading", chromedp.Click(chromedp.CSS("#toolbar .ql-header .ql-picker-label")),
				chromedp.Click(chromedp.CSS(`#toolbar .ql-header .ql-picker-item[data-value="1"]`)))
		},
	)
	// Delete and format at once: Ann deletes a word before the one that
	// Ben italicises, with the keyboard.
	converged(t, s, id, a, b)
	a.selectAt(at(a, "the quarter", false), len("the "))
	b.selectAt(at(b, "users", false), len("users"))
	parallel(
		func() { a.do("delete", chromedp.KeyEvent(kb.Backspace)) },
		func() { b.do("italic", chromedp.KeyEvent("i", chromedp.KeyModifiers(chromedp.ModifierCtrl))) },
	)
	// Ben adds a list item at the end.
	converged(t, s, id, a, b)
	b.selectAt(b.length()-1, 0)
	b.typeText("\nNext: a bulleted list")
	b.do("list", chromedp.Click(chromedp.CSS(`#toolbar button.ql-list[value="bullet"]`)))
	final := converged(t, s, id, a, b)
	got := final.Text()
	for _, want := range []string{"Draft: Launch v1 plan\n", "Goals for quarter. Talk to users. \n", "Ship the editor.\n", "Next: a bulleted list\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("final text %q lacks %q", got, want)
		}
	}
	for _, f := range []struct {
		text string
		attr string
	}{{"Goals", "bold"}, {"users", "italic"}} {
		if !hasAttr(final, f.text, f.attr) {
			t.Errorf("%q is not %s in %v", f.text, f.attr, final)
		}
	}
	if !lineHas(final, "header") || !lineHas(final, "list") {
		t.Errorf("no heading or no list in %v", final)
	}

	// Each sees the other's caret, labelled with the other's name, and the
	// other in the presence bar.
	converged(t, s, id, a, b)
	a.selectAt(at(a, "Goals", false), 0)
	b.selectAt(3, 5)
	for _, c := range []struct {
		tb    *tab
		other string
	}{{a, "Ben Okafor"}, {b, "Ann Lee"}} {
		c.tb.waitFor("the other's caret", fmt.Sprintf(
			`[...document.querySelectorAll('.ql-cursor .ql-cursor-name')].some(e => e.textContent === %q)`, c.other))
		c.tb.waitFor("the other in the presence bar", fmt.Sprintf(
			`[...document.querySelectorAll('#presence .presence-name')].some(e => e.textContent === %q)`, c.other))
	}
	b.do("copy link", chromedp.Click(chromedp.ID("copy-link")))
	b.waitFor("the copied toast", `document.getElementById('toast').textContent === 'Link copied'`)
	// Flags show for a while after a caret moves: take the pictures now.
	a.do("flags", chromedp.Sleep(300*time.Millisecond))
	a.screenshot(shots, "two-users-ann")
	b.screenshot(shots, "two-users-ben")
	a.checkClean()
	b.checkClean()
}

// hasAttr reports whether the insert holding text has attribute attr.
func hasAttr(d ot.Delta, text, attr string) bool {
	raw, _ := json.Marshal(d)
	var doc struct {
		Ops []struct {
			Insert     any            `json:"insert"`
			Attributes map[string]any `json:"attributes"`
		} `json:"ops"`
	}
	json.Unmarshal(raw, &doc)
	for _, op := range doc.Ops {
		if s, ok := op.Insert.(string); ok && strings.Contains(s, text) && op.Attributes[attr] != nil {
			return true
		}
	}
	return false
}

// lineHas reports whether some line has the line attribute attr.
func lineHas(d ot.Delta, attr string) bool { return hasAttr(d, "\n", attr) }

// TestBrowser_HostileNames: a user named like an HTML tag and a document
// titled like a script show as text everywhere, and no script runs.
func TestBrowser_HostileNames(t *testing.T) {
	chromium(t)
	s := startServer(t, "", serverOpts{})
	base := s.http.URL
	requireAssets(t, base)
	const (
		name  = `<img src=x onerror=alert(1)>`
		title = `<script>alert(2)</script><img src=x onerror=alert(3)>`
		text  = `<b>not bold</b><img src=x onerror=alert(4)>`
	)
	createDoc(t, base, "hostile", title, "")

	x := newBrowser(t, "x").open(base + "/d/hostile")
	x.identify(name, 2)
	x.waitEditable()
	x.typeAt(0, text)
	y := newBrowser(t, "y").open(base + "/")
	y.waitFor("the document list", `document.querySelector('#doc-list .doc-name')`)
	if got := eval[string](y, `document.querySelector('#doc-list .doc-name').textContent`); got != title {
		t.Errorf("home page shows title %q, want %q", got, title)
	}
	y.navigate(base + "/d/hostile")
	y.identify("Yan", 3)
	y.waitEditable()
	x.selectAt(3, 4)
	y.waitFor("x's caret", fmt.Sprintf(`[...document.querySelectorAll('.ql-cursor-name')].some(e => e.textContent === %q)`, name))
	y.waitFor("x in the presence bar", fmt.Sprintf(`[...document.querySelectorAll('#presence .presence-name')].some(e => e.textContent === %q)`, name))
	converged(t, s, "hostile", x, y)
	for _, tb := range []*tab{x, y} {
		if got := eval[string](tb, `document.getElementById('doc-title').textContent`); got != title {
			t.Errorf("%s: title %q, want %q", tb.b.name, got, title)
		}
		if !strings.Contains(tb.text(), text) {
			t.Errorf("%s: editor text %q lacks %q", tb.b.name, tb.text(), text)
		}
		if n := eval[int](tb, `document.querySelectorAll('img, script:not([src])').length`); n != 0 {
			t.Errorf("%s: %d img or inline script elements in the page", tb.b.name, n)
		}
	}
	if got := eval[string](x, `document.querySelector('#me .me-name').textContent`); got != name {
		t.Errorf("x's own chip reads %q, want %q", got, name)
	}
	time.Sleep(300 * time.Millisecond) // an onerror would have fired by now
	for _, tb := range []*tab{x, y} {
		if n := tb.alerts.Load(); n != 0 {
			t.Errorf("%s: %d script dialogs opened", tb.b.name, n)
		}
		tb.checkClean()
	}
}

// TestBrowser_EmbedOtherOrigin: a page of another origin (another host
// and port, listed in --allowed-origins) embeds the editor by script and
// by iframe. Both report their events to the page (the iframe by
// postMessage to the page's origin), and edits in either reach the other
// and the server. The same page from an origin not in the list gets
// neither.
// listenHostPage takes a port for a page of another origin than the
// server's (localhost, where the server is 127.0.0.1) and returns its
// listener and origin: the origin is needed before the page's handler,
// which needs the server's address.
func listenHostPage(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln, "http://localhost:" + port
}

// serveHostPage serves h on a listener from listenHostPage until the test
// ends.
func serveHostPage(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

func TestBrowser_EmbedOtherOrigin(t *testing.T) {
	chromium(t)
	hostLn, hostOrigin := listenHostPage(t) // another host and port than the server's
	s := startServer(t, "", serverOpts{web: web.Config{AllowedOrigins: []string{hostOrigin}}})
	base := s.http.URL
	requireAssets(t, base)
	createDoc(t, base, "embedded", "Embedded", "From the server.")

	serveHostPage(t, hostLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html><head><title>Host app</title>
<script src="%[1]s/embed.js"></script><script src="/host.js" defer></script></head>
<body><h1>Our product</h1><div id="by-script"></div>
<iframe id="by-frame" src="%[1]s/embed/embedded?name=Frame%%20user&amp;color=%%23c2410c" width="600" height="300"></iframe>
</body></html>`, base)
		case "/host.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprintf(w, `
window.scriptEvents = []; window.frameEvents = []; window.strangers = [];
addEventListener('message', (e) => {
  if (e.origin !== %[1]q) { strangers.push(e.origin); return; }
  if (e.data && e.data.source === 'cowrite') frameEvents.push(e.data);
});
window.handle = Cowrite.mount(document.getElementById('by-script'), {
  server: %[1]q, doc: 'embedded', user: {name: 'Script user', color: '#2f6f9f'},
});
for (const type of ['ready', 'change', 'status', 'presence', 'error']) {
  handle.on(type, (detail) => scriptEvents.push({type, detail}));
}`, base)
		default:
			http.NotFound(w, r)
		}
	}))

	br := newBrowser(t, "host")
	h := br.open(hostOrigin + "/")
	h.waitFor("the script embed's ready", `scriptEvents.some(e => e.type === 'ready')`)
	h.waitFor("the iframe's ready", `frameEvents.some(e => e.type === 'ready' && e.doc === 'embedded')`)
	h.waitFor("the script embed saved", `scriptEvents.some(e => e.type === 'status' && e.detail.state === 'saved')`)

	// Type in the script embed; the iframe reports the change.
	h.do("type in the script embed", chromedp.Click(chromedp.CSS("#by-script .ql-editor")))
	h.typeText(" Typed by script.")
	h.waitFor("the iframe's remote change", `frameEvents.some(e => e.type === 'change' && e.detail.source === 'remote')`)
	h.waitFor("the iframe to have all of it", `frameEvents.filter(e => e.type === 'change').at(-1).detail.length === handle.getText().length`)
	// Type in the iframe: click into it, then keys go to its editor.
	rect := eval[[]float64](h, `(() => { const r = document.getElementById('by-frame').getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`)
	eval[chromedp.Void](h, `document.activeElement.blur()`) // else keys may still reach the page's editor
	h.do("click into the iframe", chromedp.MouseClickXY(rect[0]+rect[2]/2, rect[1]+rect[3]*0.5))
	h.do("focus settles", chromedp.Sleep(100*time.Millisecond))
	h.typeText(" Typed in the frame.")
	h.waitFor("the script embed's remote change", `scriptEvents.some(e => e.type === 'change' && e.detail.source === 'remote')`)
	h.waitFor("both edits in the script embed", `handle.getText().includes('Typed by script.') && handle.getText().includes('Typed in the frame.')`)
	h.waitFor("the iframe saved", `frameEvents.filter(e => e.type === 'status').at(-1)?.detail.state === 'saved'`)
	h.waitFor("the script embed saved", `scriptEvents.filter(e => e.type === 'status').at(-1)?.detail.state === 'saved'`)
	eventually(t, "the server to have both edits", func() bool {
		d, _ := s.content(t, "embedded")
		txt := d.Text()
		return strings.Contains(txt, "Typed by script.") && strings.Contains(txt, "Typed in the frame.") && strings.Contains(txt, "From the server.")
	})
	if got, want := eval[string](h, `handle.getText()`), func() string { d, _ := s.content(t, "embedded"); return d.Text() }(); got != want {
		t.Errorf("script embed shows %q, the server has %q", got, want)
	}
	h.waitFor("the frame user in the script embed's presence",
		`scriptEvents.some(e => e.type === 'presence' && e.detail.users.some(u => u.name === 'Frame user'))`)
	h.waitFor("the script user in the iframe's presence",
		`frameEvents.some(e => e.type === 'presence' && e.detail.users.some(u => u.name === 'Script user'))`)
	if n := eval[int](h, `strangers.length`); n != 0 {
		t.Errorf("%d messages from other origins", n)
	}
	h.checkClean()

	// The same page from an origin that is not allowed: the WebSocket is
	// refused and the iframe is not shown (frame-ancestors).
	other := br.open(strings.Replace(hostOrigin, "localhost", "127.0.0.1", 1) + "/")
	other.waitFor("the script embed to report its status", `scriptEvents.some(e => e.type === 'status')`)
	time.Sleep(1500 * time.Millisecond)
	if eval[bool](other, `scriptEvents.some(e => e.type === 'ready') || frameEvents.length > 0`) {
		t.Errorf("an origin that is not allowed got an editor: %s", eval[string](other, `JSON.stringify([scriptEvents, frameEvents])`))
	}
}

// TestBrowser_ServerRestart: two people type while the server stops and
// a new one starts on the same directory and port. Typing goes on, and
// nothing is lost or doubled.
func TestBrowser_ServerRestart(t *testing.T) {
	chromium(t)
	dir := t.TempDir()
	s := startServer(t, dir, serverOpts{})
	addr := s.http.Listener.Addr().String()
	base := s.http.URL
	requireAssets(t, base)
	createDoc(t, base, "restart", "Restart", "Top\nBottom")

	a := newBrowser(t, "ann").open(base + "/d/restart")
	a.identify("Ann", 0)
	a.waitEditable()
	b := newBrowser(t, "ben").open(base + "/d/restart")
	b.identify("Ben", 1)
	b.waitEditable()
	a.selectAt(len("Top"), 0)
	b.selectAt(b.length()-1, 0)

	var aWords, bWords []string
	typing := func(tb *tab, prefix string, words *[]string) func() {
		return func() {
			for i := range 24 {
				w := fmt.Sprintf(" %s%d", prefix, i)
				tb.typeText(w)
				*words = append(*words, w)
				time.Sleep(60 * time.Millisecond)
			}
		}
	}
	parallel(
		typing(a, "a", &aWords),
		typing(b, "b", &bWords),
		func() {
			time.Sleep(500 * time.Millisecond)
			s.stop()
			time.Sleep(400 * time.Millisecond)
			s = startServer(t, dir, serverOpts{addr: addr})
		},
	)
	final := converged(t, s, "restart", a, b)
	txt := final.Text()
	want := "Top" + strings.Join(aWords, "") + "\nBottom" + strings.Join(bWords, "") + "\n"
	if txt != want {
		t.Errorf("after the restart the document is\n%q, want\n%q", txt, want)
	}
	a.checkClean()
	b.checkClean()
}

// TestBrowser_Offline: one person goes offline, types, and closes the
// page while still offline; opened again, the page delivers the edits
// exactly once. Offline again, a reload still shows the document with the
// unsent edits (the service worker serves the page, the journal the
// document), and the status goes from Offline to Saved when the network
// returns.
func TestBrowser_Offline(t *testing.T) {
	chromium(t)
	s := startServer(t, "", serverOpts{})
	requireAssets(t, s.http.URL)
	createDoc(t, s.http.URL, "trip", "Trip notes", "Shared notes.")
	net := newLink(t, s.http.Listener.Addr().String())
	base := net.url() // Ann's network

	ann := newBrowser(t, "ann")
	a := ann.open(base + "/d/trip")
	a.identify("Ann", 0)
	a.waitEditable()
	a.waitFor("the service worker", `navigator.serviceWorker.ready.then(r => !!r.active)`)
	a.waitFor("the shell in the cache", `caches.keys().then(ks => ks.some(k => k.startsWith('cowrite-shell-')))`)
	b := newBrowser(t, "ben").open(s.http.URL + "/d/trip")
	b.identify("Ben", 1)
	b.waitEditable()
	converged(t, s, "trip", a, b)

	offline := `/^Offline, \d+ changes? pending$/.test(document.querySelector('#status .status-label').textContent)`
	count := func(what string) int {
		d, _ := s.content(t, "trip")
		return strings.Count(d.Text(), what)
	}

	// Offline: type, then close the page.
	net.down()
	a.waitFor("offline", `document.querySelector('#status').dataset.state === 'offline'`)
	a.typeAt(a.length()-1, " One offline.")
	// One change per keystroke; the journal writes each as it comes. A
	// person takes a moment to close a tab: so does the test.
	a.waitStatus(fmt.Sprintf("Offline, %d changes pending", len(" One offline.")))
	time.Sleep(250 * time.Millisecond)
	a.close() // (closing through the DevTools protocol skips beforeunload; the reload below checks it)
	net.up()
	if n := count("One offline."); n != 0 {
		t.Fatalf("the server has the offline edit %d times before the page came back", n)
	}
	// Opened again: the journal delivers the edit once.
	a = ann.open(base + "/d/trip")
	a.waitEditable()
	converged(t, s, "trip", a, b)
	if n := count("One offline."); n != 1 {
		t.Errorf("the server has the offline edit %d times, want once", n)
	}

	// Offline again: type, reload without a network.
	net.down()
	a.waitFor("offline", `document.querySelector('#status').dataset.state === 'offline'`)
	a.typeAt(a.length()-1, " Two offline.")
	a.waitStatus(fmt.Sprintf("Offline, %d changes pending", len(" Two offline.")))
	time.Sleep(250 * time.Millisecond)
	a.do("reload while offline", chromedp.Reload())
	if a.unloads.Load() == 0 {
		t.Error("leaving the page with unsent edits did not ask first (beforeunload)")
	}
	a.waitFor("the document from the journal", `window.cowriteEditor && cowriteEditor.quill.getText().includes('Two offline.')`)
	if got, want := a.text(), "Shared notes. One offline. Two offline.\n"; got != want {
		t.Errorf("offline reload shows %q, want %q", got, want)
	}
	a.waitFor("Offline, N changes pending after the reload", offline)
	if got := eval[string](a, `document.getElementById('doc-title').textContent`); got != "Trip notes" {
		t.Errorf("offline page title %q, want Trip notes", got)
	}
	if n := count("Two offline."); n != 0 {
		t.Fatalf("the server has the second offline edit %d times while offline", n)
	}
	net.up()
	a.waitStatus("Saved")
	converged(t, s, "trip", a, b)
	for _, what := range []string{"One offline.", "Two offline."} {
		if n := count(what); n != 1 {
			t.Errorf("the server has %q %d times, want once", what, n)
		}
	}
	if t.Failed() {
		_, rev := s.content(t, "trip")
		ops, _ := s.manager.Ops(context.Background(), "trip", 0, rev)
		for _, op := range ops {
			raw, _ := json.Marshal(op.Delta)
			t.Logf("op at rev %d: client %s seq %d author %s: %s", op.Rev, op.Client, op.Seq, op.Author, raw)
		}
	}
	a.checkClean()
	b.checkClean()
}

// TestBrowser_OfflineCloseAtOnce: one person types a burst offline and
// closes the tab at once, without the moment a person takes (issue 4:
// a tab closed right after typing lost the keystrokes still queued for
// the journal). Opened again, the page delivers every keystroke exactly
// once. Twice over, so that the second burst goes into a session carried
// on from the journal.
func TestBrowser_OfflineCloseAtOnce(t *testing.T) {
	chromium(t)
	s := startServer(t, "", serverOpts{})
	requireAssets(t, s.http.URL)
	createDoc(t, s.http.URL, "hurry", "In a hurry", "Draft.")
	net := newLink(t, s.http.Listener.Addr().String())
	base := net.url()

	ann := newBrowser(t, "ann")
	a := ann.open(base + "/d/hurry")
	a.identify("Ann", 0)
	a.waitEditable()
	converged(t, s, "hurry", a)

	want := "Draft."
	for i, burst := range []string{" Typed in a hurry, closed at once.", " Then again: 12345 67890!"} {
		net.down()
		a.waitFor("offline", `document.querySelector('#status').dataset.state === 'offline'`)
		a.typeAt(a.length()-1, burst)
		a.close() // at once: no wait for the status, nor for the journal
		a.checkClean()
		want += burst
		net.up()
		if d, _ := s.content(t, "hurry"); strings.Contains(d.Text(), burst) {
			t.Fatalf("burst %d: the server has it before the page came back", i+1)
		}

		a = ann.open(base + "/d/hurry")
		a.waitEditable()
		got := converged(t, s, "hurry", a).Text()
		if got != want+"\n" {
			t.Errorf("burst %d: after reopening, the document is\n%q, want\n%q", i+1, got, want+"\n")
		}
		if n := strings.Count(got, burst); n != 1 {
			t.Errorf("burst %d: the server has it %d times, want once", i+1, n)
		}
		a.checkClean()
		if t.Failed() {
			_, rev := s.content(t, "hurry")
			ops, _ := s.manager.Ops(context.Background(), "hurry", 0, rev)
			for _, op := range ops {
				raw, _ := json.Marshal(op.Delta)
				t.Logf("op at rev %d: client %s seq %d: %s", op.Rev, op.Client, op.Seq, raw)
			}
			return
		}
	}
}
