package e2e

// Browser tests of signing in: a token given by link (#token=), the
// sign-in panel, the open-mode banner, a token that expires under an open
// editor, and embeds kept signed in by a token provider.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cowrite/cowrite/web"
)

// startBrowserTokenServer starts a server that checks tokens signed with
// authSecret, with no leeway (a token's exp is when its connections
// close), and lets the given origins embed the editor.
func startBrowserTokenServer(t *testing.T, allowed ...string) *server {
	t.Helper()
	return startBrowserTokenServerLeeway(t, -1, allowed...)
}

// startBrowserTokenServerLeeway is startBrowserTokenServer with the given
// leeway on exp (negative: none).
func startBrowserTokenServerLeeway(t *testing.T, leeway time.Duration, allowed ...string) *server {
	t.Helper()
	chromium(t)
	c := authConfig()
	c.Leeway = leeway
	s := startVerifyingServer(t, "", c, serverOpts{web: web.Config{AllowedOrigins: allowed}})
	requireAssets(t, s.http.URL)
	return s
}

// serverText returns a document's text as the server has it, without the
// final newline (a document made by joining it has none until an edit
// reaches its end).
func serverText(t *testing.T, s *server, id string) string {
	t.Helper()
	d, _ := s.content(t, id)
	return strings.TrimSuffix(d.Text(), "\n")
}

// shoot saves a screenshot when $COWRITE_SCREENSHOTS is set.
func (tb *tab) shoot(name string) {
	tb.t.Helper()
	if dir := os.Getenv("COWRITE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.t.Fatal(err)
		}
		tb.screenshot(dir, name)
	}
}

// waitSignIn waits for the sign-in panel with the given reason.
func (tb *tab) waitSignIn(reason string) {
	tb.t.Helper()
	tb.waitFor("the sign-in panel ("+reason+")",
		fmt.Sprintf(`document.getElementById('signin')?.dataset.reason === %q && document.getElementById('signin').offsetParent !== null`, reason))
}

// TestBrowser_AuthLink: a page opened with a #token= link signs in, takes
// the token out of the address, keeps it, and works after a reload
// without the fragment; the name shown is the token's, not asked for.
func TestBrowser_AuthLink(t *testing.T) {
	s := startBrowserTokenServer(t)
	base := s.http.URL
	tok := mint(t, "ann", "Ann Token", map[string]any{"team-*": "edit"}, nil)

	tb := newBrowser(t, "ann").open(base + "/d/team-notes#token=" + tok)
	tb.waitEditable()
	if href := eval[string](tb, `location.href`); href != base+"/d/team-notes" {
		t.Errorf("address after sign-in: %q, want no fragment", href)
	}
	if got := eval[string](tb, `localStorage.getItem('cowrite.token')`); got != tok {
		t.Error("the stored token is not the link's")
	}
	tb.shoot("auth-link-editor")
	if got := eval[string](tb, `document.querySelector('#me .me-name').textContent`); got != "Ann Token" {
		t.Errorf("name shown %q, want the token's", got)
	}
	if eval[bool](tb, `document.getElementById('identity-dialog').open || !!document.getElementById('open-banner')`) {
		t.Error("token mode asked for a name, or showed the open-mode banner")
	}
	tb.typeAt(0, "Signed in by link.")
	tb.waitStatus("Saved")
	if got := serverText(t, s, "team-notes"); got != "Signed in by link." {
		t.Errorf("server has %q", got)
	}

	// A reload without the fragment signs in from storage.
	tb.navigate(base + "/d/team-notes")
	tb.waitEditable()
	tb.waitFor("the document", `cowriteEditor.quill.getText() === 'Signed in by link.\n'`)
	tb.typeAt(0, "Again. ")
	tb.waitStatus("Saved")
	eventually(t, "the second edit on the server", func() bool { return serverText(t, s, "team-notes") == "Again. Signed in by link." })

	// The home page lists the documents with the same token.
	tb.navigate(base + "/")
	tb.waitFor("the document in the list", `[...document.querySelectorAll('#doc-list .doc-id')].some(e => e.textContent === 'team-notes')`)

	// Signing out forgets the token: the panel asks for a new one.
	tb.do("sign out", chromedp.Click(chromedp.ID("sign-out")))
	tb.waitSignIn("none")
	if got := eval[string](tb, `localStorage.getItem('cowrite.token') ?? ''`); got != "" {
		t.Error("the token is still stored after signing out")
	}
	tb.checkClean()
}

// TestBrowser_AuthNoToken: in token mode, a page without a token shows
// the sign-in panel and no editor; a token pasted into it signs in.
func TestBrowser_AuthNoToken(t *testing.T) {
	s := startBrowserTokenServer(t)
	base := s.http.URL
	tb := newBrowser(t, "nobody").open(base + "/d/team-notes")
	tb.waitSignIn("none")
	tb.shoot("auth-signin-editor")
	if got := eval[string](tb, `document.querySelector('#signin h2').textContent`); got != "Sign-in needed" {
		t.Errorf("panel title %q", got)
	}
	if eval[bool](tb, `!!window.cowriteEditor || document.querySelector('.paper-wrap').offsetParent !== null`) {
		t.Error("an editor is shown without a token")
	}
	tb.navigate(base + "/")
	tb.waitSignIn("none")
	if eval[bool](tb, `document.getElementById('doc-list').offsetParent !== null`) {
		t.Error("the home page shows a document list without a token")
	}

	// A token pasted into the panel signs in.
	tb.navigate(base + "/d/team-notes")
	tb.waitSignIn("none")
	tok := mint(t, "bob", "Bob", map[string]any{"team-*": "edit"}, nil)
	eval[chromedp.Void](tb, fmt.Sprintf(`(document.getElementById('signin-token').value = %q, undefined)`, tok))
	tb.do("sign in", chromedp.Click(chromedp.CSS("#signin button")))
	tb.waitEditable()
	tb.typeAt(0, "Pasted.")
	tb.waitStatus("Saved")
	eventually(t, "the edit on the server", func() bool { return serverText(t, s, "team-notes") == "Pasted." })
	tb.checkClean()
}

// TestBrowser_AuthOpenBanner: a server in open mode says so on its pages.
func TestBrowser_AuthOpenBanner(t *testing.T) {
	chromium(t)
	s := startServer(t, "", serverOpts{})
	base := s.http.URL
	requireAssets(t, base)
	const want = "Open mode: anyone who can reach this server can read and edit every document."
	tb := newBrowser(t, "open").open(base + "/")
	tb.waitFor("the banner", `document.getElementById('open-banner')?.offsetParent`)
	if got := eval[string](tb, `document.getElementById('open-banner').textContent`); got != want {
		t.Errorf("home banner %q", got)
	}
	tb.shoot("auth-open-home")
	tb.navigate(base + "/d/open-notes")
	tb.identify("Olive", 0)
	tb.waitEditable()
	if got := eval[string](tb, `document.getElementById('open-banner')?.textContent ?? ''`); got != want {
		t.Errorf("editor banner %q", got)
	}
	if eval[bool](tb, `!!document.getElementById('sign-out') || !!document.getElementById('signin')`) {
		t.Error("open mode offers signing in or out")
	}
	tb.checkClean()
}

// TestBrowser_AuthExpiry: the token of an open editor page expires; the
// page stops with the sign-in panel over the text, which stays; a new
// token pasted into the panel carries on where it stopped.
func TestBrowser_AuthExpiry(t *testing.T) {
	s := startBrowserTokenServer(t)
	base := s.http.URL
	short := mint(t, "ann", "Ann", map[string]any{"team-*": "edit"}, expiresIn(5*time.Second))
	tb := newBrowser(t, "ann").open(base + "/d/team-expiry#token=" + short)
	tb.waitEditable()
	tb.typeAt(0, "Typed before expiry.")
	tb.waitStatus("Saved")

	tb.waitSignIn("expired")
	tb.shoot("auth-expired")
	if got := eval[string](tb, `cowriteEditor.quill.getText()`); got != "Typed before expiry.\n" {
		t.Errorf("the stopped editor shows %q", got)
	}
	if eval[bool](tb, `cowriteEditor.quill.isEnabled()`) {
		t.Error("the stopped editor still takes edits")
	}
	if got := eval[string](tb, `cowriteEditor.client.status.code`); got != "token_expired" {
		t.Errorf("status code %q", got)
	}

	fresh := mint(t, "ann", "Ann", map[string]any{"team-*": "edit"}, nil)
	eval[chromedp.Void](tb, fmt.Sprintf(`(document.getElementById('signin-token').value = %q, undefined)`, fresh))
	tb.do("sign in again", chromedp.Click(chromedp.CSS("#signin button")))
	tb.waitEditable()
	tb.waitFor("the document", `cowriteEditor.quill.getText() === 'Typed before expiry.\n'`)
	tb.typeAt(0, "After. ")
	tb.waitStatus("Saved")
	eventually(t, "both edits on the server", func() bool { return serverText(t, s, "team-expiry") == "After. Typed before expiry." })
	tb.checkClean()
}

// TestBrowser_AuthEmbedRefresh: a host page keeps the script embed and an
// iframe embed (tokens=host) signed in with short-lived tokens from its
// backend. The connections are refreshed in band: past several tokens'
// expiry, neither editor reconnected, and typing still reaches the server.
func TestBrowser_AuthEmbedRefresh(t *testing.T) {
	chromium(t)
	hostLn, hostOrigin := listenHostPage(t)
	// Tokens live 2 to 3 s and the server allows 3 s of leeway, as a real
	// one allows 30: a connection that was never refreshed closes 5 to 6 s
	// after its token was minted, before the test types at 7 s, while a
	// refresh has seconds to spare on a busy machine.
	s := startBrowserTokenServerLeeway(t, 3*time.Second, hostOrigin)
	base := s.http.URL

	var minted atomic.Int32
	serveHostPage(t, hostLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html><head><title>Host app</title>
<script src="%[1]s/embed.js"></script><script src="/host.js" defer></script></head>
<body><div id="by-script"></div>
<iframe id="by-frame" src="%[1]s/embed/team-embed?tokens=host" width="600" height="240"></iframe>
</body></html>`, base)
		case "/host.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprintf(w, `
const token = () => fetch('/token').then((r) => r.text());
window.scriptStates = []; window.frameStates = []; window.frameAsked = 0;
addEventListener('message', async (e) => {
  if (e.origin !== %[1]q || !e.data || e.data.source !== 'cowrite') return;
  if (e.data.type === 'token-request') {
    frameAsked++;
    e.source.postMessage({source: 'cowrite-host', type: 'token', id: e.data.id, token: await token()}, %[1]q);
  } else if (e.data.type === 'status') frameStates.push(e.data.detail.state);
});
window.handle = Cowrite.mount(document.getElementById('by-script'), {server: %[1]q, doc: 'team-embed', token});
handle.on('status', (s) => scriptStates.push(s.state));`, base)
		case "/token":
			// Each token lives 3 s (2 to 3 s: exp is in whole seconds).
			minted.Add(1)
			fmt.Fprint(w, mint(t, "ann", "Ann", map[string]any{"team-*": "edit"}, expiresIn(3*time.Second)))
		default:
			http.NotFound(w, r)
		}
	}))

	h := newBrowser(t, "host").open(hostOrigin + "/")
	h.waitFor("the script embed saved", `scriptStates.includes('saved')`)
	h.waitFor("the iframe saved", `frameStates.includes('saved')`)
	time.Sleep(7 * time.Second) // past the expiry of the first tokens, and of their successors
	h.do("type in the script embed", chromedp.Click(chromedp.CSS("#by-script .ql-editor")))
	h.typeText("Still signed in.")
	eventually(t, "the edit on the server", func() bool { return strings.Contains(serverText(t, s, "team-embed"), "Still signed in.") })

	// One connection each from start to end: no state after the first
	// saved but saving and saved (a reconnect passes through connecting).
	for _, which := range []string{"scriptStates", "frameStates"} {
		states := eval[[]string](h, which)
		first := -1
		for i, st := range states {
			if st == "saved" {
				first = i
				break
			}
		}
		for _, st := range states[first+1:] {
			if st != "saved" && st != "saving" {
				t.Errorf("%s went through %q after loading: %v", which, st, states)
				break
			}
		}
	}
	if n := eval[int](h, `frameAsked`); n < 3 {
		t.Errorf("the iframe asked its host for %d tokens, want one per connection and refresh (3 or more)", n)
	}
	if n := minted.Load(); n < 6 {
		t.Errorf("the host minted %d tokens, want 6 or more (a first and two refreshes per embed)", n)
	}
	h.checkClean()
}

// TestBrowser_AuthSharedBrowser: on one browser, Ann types offline and
// signs out, told that her edits wait for her; Ben signs in there and
// neither sees nor sends them; Ann signs in again and they arrive, once.
func TestBrowser_AuthSharedBrowser(t *testing.T) {
	s := startBrowserTokenServer(t)
	net := newLink(t, s.http.Listener.Addr().String())
	base := net.url()
	team := map[string]any{"team-*": "edit"}
	annTok := mint(t, "ann", "Ann", team, nil)
	benTok := mint(t, "ben", "Ben", team, nil)
	const offline = " Ann offline."
	count := func() int { return strings.Count(serverText(t, s, "team-shared"), offline) }

	shared := newBrowser(t, "shared")
	a := shared.open(base + "/d/team-shared#token=" + annTok)
	a.waitEditable()
	a.waitFor("the service worker", `navigator.serviceWorker.ready.then(r => !!r.active)`)
	a.waitFor("the shell in the cache", `caches.keys().then(ks => ks.some(k => k.startsWith('cowrite-shell-')))`)
	a.waitFor("the page in the worker's hands", `!!navigator.serviceWorker.controller`) // for the reload offline
	a.typeAt(0, "Shared.")
	a.waitStatus("Saved")

	net.down()
	a.waitFor("offline", `document.querySelector('#status').dataset.state === 'offline'`)
	a.typeAt(a.length()-1, offline)
	a.waitStatus(fmt.Sprintf("Offline, %d changes pending", len(offline)))
	a.do("sign out", chromedp.Click(chromedp.ID("sign-out")))
	a.waitFor("the note on unsaved edits", `document.getElementById('signout-note')?.offsetParent != null`)
	want := fmt.Sprintf("%d edits not yet saved will be sent when you sign in again as Ann.", len(offline))
	if got := eval[string](a, `document.getElementById('signout-text').textContent`); got != want {
		t.Errorf("sign-out note %q, want %q", got, want)
	}
	a.shoot("auth-signout-unsaved")
	a.do("confirm", chromedp.Click(chromedp.ID("sign-out-confirm")))
	a.waitFor("the token forgotten", `localStorage.getItem('cowrite.token') === null`)
	a.close()
	net.up()

	// Ben, on the same browser: the document as the server has it.
	b := shared.open(base + "/d/team-shared#token=" + benTok)
	b.waitEditable()
	b.waitFor("the document", `cowriteEditor.quill.getText() === 'Shared.\n'`)
	b.typeAt(0, "Ben. ")
	b.waitStatus("Saved")
	time.Sleep(500 * time.Millisecond)
	if got := serverText(t, s, "team-shared"); got != "Ben. Shared." {
		t.Fatalf("with Ben signed in, the server has %q", got)
	}
	b.checkClean()
	b.close()

	// Ann again: her edits go, under her name, once.
	a = shared.open(base + "/d/team-shared#token=" + annTok)
	a.waitEditable()
	eventually(t, "Ann's offline edits on the server", func() bool { return count() == 1 })
	a.waitStatus("Saved")
	time.Sleep(300 * time.Millisecond)
	if got := serverText(t, s, "team-shared"); got != "Ben. Shared."+offline {
		t.Errorf("the server has %q", got)
	}
	_, rev := s.content(t, "team-shared")
	ops, _ := s.manager.Ops(context.Background(), "team-shared", 0, rev)
	found := false
	for _, op := range ops {
		raw, _ := json.Marshal(op.Delta)
		if strings.Contains(string(raw), "offline") {
			found = true
			if op.Author != "Ann" {
				t.Errorf("an op of Ann's went in as %q: %s", op.Author, raw)
			}
		}
	}
	if !found {
		t.Error("no op holds Ann's offline edits")
	}
	a.checkClean()
}

// TestBrowser_AuthNewDocument: "New document" with a token limited to
// "team-*" makes a team- document; with a token naming only exact ids it
// is disabled, and says why.
func TestBrowser_AuthNewDocument(t *testing.T) {
	s := startBrowserTokenServer(t)
	base := s.http.URL
	tok := mint(t, "ann", "Ann", map[string]any{"team-*": "edit", "notes": "edit"}, nil)
	tb := newBrowser(t, "ann").open(base + "/#token=" + tok)
	tb.waitFor("the home page", `document.querySelector('#doc-state').textContent.startsWith('No documents yet')`)
	tb.do("new document",
		chromedp.Click(chromedp.ID("new-doc")),
		chromedp.WaitVisible(chromedp.ID("new-title")),
		chromedp.SendKeys(chromedp.ID("new-title"), "Team plans"),
		chromedp.Click(chromedp.CSS(`#new-form button[value="create"]`)),
	)
	tb.waitFor("the new document", `/^\/d\/team-[A-Za-z0-9_-]{22}$/.test(location.pathname) && window.cowriteEditor && cowriteEditor.quill.isEnabled()`)
	id := strings.TrimPrefix(eval[string](tb, `location.pathname`), "/d/")
	tb.typeAt(0, "Made here.")
	tb.waitStatus("Saved")
	eventually(t, "the text on the server", func() bool { return serverText(t, s, id) == "Made here." })
	tb.checkClean()

	exact := mint(t, "ben", "Ben", map[string]any{"notes": "edit", "plans": "admin"}, nil)
	tb = newBrowser(t, "ben").open(base + "/#token=" + exact)
	tb.waitFor("the home page", `document.querySelector('#doc-state').textContent.startsWith('No documents yet')`)
	if !eval[bool](tb, `document.getElementById('new-doc').disabled`) {
		t.Error("New document is enabled for a token of exact ids")
	}
	if got := eval[string](tb, `document.querySelector('.home-head .muted').textContent`); !strings.Contains(got, "cannot start new documents") {
		t.Errorf("no word on why: %q", got)
	}
	tb.checkClean()
}
