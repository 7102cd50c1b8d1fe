//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cowrite/cowrite/doc"
	"github.com/cowrite/cowrite/ot"
	"github.com/cowrite/cowrite/session"
	"github.com/cowrite/cowrite/session/client"
)

// The tests in this file and in crash_test.go run the real binary, built
// once for the tests that run at the same time (without -race: the binary
// under test is the one users run), as a child process on a real directory.

// cowriteBin is the binary built for the tests that are running: the first
// builds it, the last one to end removes it.
var cowriteBin struct {
	mu    sync.Mutex
	users int
	dir   string
	path  string
}

// cowriteBinary returns the path of the cowrite binary, built from this
// module, for the duration of the test.
func cowriteBinary(t testing.TB) string {
	t.Helper()
	cowriteBin.mu.Lock()
	defer cowriteBin.mu.Unlock()
	if cowriteBin.users == 0 {
		dir, err := os.MkdirTemp("", "cowrite-e2e-bin-")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "cowrite")
		// go test puts its own go command first in PATH.
		cmd := exec.Command("go", "build", "-o", path, "github.com/cowrite/cowrite")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			t.Fatalf("build cowrite: %v\n%s", err, out)
		}
		cowriteBin.dir, cowriteBin.path = dir, path
	}
	cowriteBin.users++
	t.Cleanup(func() {
		cowriteBin.mu.Lock()
		defer cowriteBin.mu.Unlock()
		if cowriteBin.users--; cowriteBin.users == 0 {
			os.RemoveAll(cowriteBin.dir)
			cowriteBin.dir, cowriteBin.path = "", ""
		}
	})
	return cowriteBin.path
}

// loopbackAddr returns a loopback address whose port was free a moment ago.
// The tests reuse it across restarts so that clients find the server again.
func loopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A cowriteProc is one run of `cowrite serve` as a child process.
type cowriteProc struct {
	t       testing.TB
	name    string // for messages: "server #3"
	addr    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been waited for
	state   *os.ProcessState
	waitErr error
}

// startCowrite starts `cowrite serve --addr addr --data dir` with extra
// flags and env (KEY=value) added to this process's environment. Its
// standard error goes to a log file that the test reports when it fails.
// The process is killed when the test ends, if it still runs, and when
// the test process dies.
func startCowrite(t testing.TB, name, addr, dir string, env []string, extra ...string) *cowriteProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), strings.ReplaceAll(name, " ", "-")+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	args := append([]string{"serve", "--addr", addr, "--data", dir}, extra...)
	cmd := exec.Command(cowriteBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &cowriteProc{t: t, name: name, addr: addr, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if tail := p.logTail(20); t.Failed() && tail != "" {
			t.Logf("%s log (%s), last lines:\n%s", p.name, p.logPath, tail)
		}
	})
	return p
}

// url returns the server's base URL.
func (p *cowriteProc) url() string { return "http://" + p.addr }

// wsURL returns the WebSocket endpoint of a document.
func (p *cowriteProc) wsURL(id string) string { return "ws://" + p.addr + "/v1/docs/" + id + "/ws" }

// waitReady waits until /readyz answers 200. It fails the test when the
// process exits first, or after a minute.
func (p *cowriteProc) waitReady() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url()+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			p.t.Fatalf("%s exited before it was ready (%v):\n%s", p.name, p.waitErr, p.logTail(30))
		case <-ctx.Done():
			p.t.Fatalf("%s not ready after a minute:\n%s", p.name, p.logTail(30))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL, unless the process has ended, and waits for it.
func (p *cowriteProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// signal sends sig to the process.
func (p *cowriteProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
}

// wait waits for the process to exit and returns its exit code. It fails
// the test when the process is still running after limit: a hang, not a
// slow machine.
func (p *cowriteProc) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		p.kill()
		p.t.Fatalf("%s still running after %v; killed:\n%s", p.name, limit, p.logTail(30))
	}
	if p.state == nil {
		p.t.Fatalf("%s: wait: %v", p.name, p.waitErr)
	}
	return p.state.ExitCode()
}

// log returns what the process wrote to its standard error and output.
func (p *cowriteProc) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// logTail returns the last n lines of the log.
func (p *cowriteProc) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// logEntry is one line of the server's JSON log.
type logEntry struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// logEntries returns the log's JSON lines; it skips other lines.
func (p *cowriteProc) logEntries() []logEntry {
	var out []logEntry
	sc := bufio.NewScanner(strings.NewReader(p.log()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e logEntry
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// The REST API, as tests read it.

type restDoc struct {
	Rev   doc.Rev  `json:"rev"`
	Delta ot.Delta `json:"delta"`
	Doc   struct {
		ID    string  `json:"id"`
		Epoch string  `json:"epoch"`
		Rev   doc.Rev `json:"rev"`
	} `json:"doc"`
}

type restOp struct {
	Rev    doc.Rev  `json:"rev"`
	Delta  ot.Delta `json:"delta"`
	Client string   `json:"client"`
	Seq    uint64   `json:"seq"`
}

type restOpsPage struct {
	From doc.Rev  `json:"from"`
	To   doc.Rev  `json:"to"`
	Rev  doc.Rev  `json:"rev"`
	Ops  []restOp `json:"ops"`
}

// getJSON GETs url and decodes its JSON answer into v; it fails the test
// on anything but 200.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	r := fetch(t, "", http.MethodGet, url, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s: %s", url, r.status, http.StatusText(r.status), r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
}

// restDocAt returns document id at revision rev, or the latest when rev
// is negative.
func restDocAt(t testing.TB, base, id string, rev doc.Rev) restDoc {
	t.Helper()
	url := base + "/v1/docs/" + id
	if rev >= 0 {
		url += fmt.Sprintf("?rev=%d", rev)
	}
	var d restDoc
	getJSON(t, url, &d)
	return d
}

// restAllOps returns every op of document id from revision 1 to its
// latest, page by page, checking that the revisions follow each other.
func restAllOps(t testing.TB, base, id string) []restOp {
	t.Helper()
	var all []restOp
	for from := doc.Rev(0); ; {
		var page restOpsPage
		getJSON(t, fmt.Sprintf("%s/v1/docs/%s/ops?from=%d", base, id, from), &page)
		for _, op := range page.Ops {
			if want := doc.Rev(len(all)) + 1; op.Rev != want {
				t.Fatalf("%s: ops page from %d: revision %d where %d was due", id, from, op.Rev, want)
			}
			all = append(all, op)
		}
		if doc.Rev(len(all)) != page.To {
			t.Fatalf("%s: ops page from %d to %d ends at revision %d", id, from, page.To, len(all))
		}
		if page.To >= page.Rev {
			return all
		}
		from = page.To
	}
}

// watchClose connects a bare WebSocket client to document id, says hello,
// reads everything the server sends and returns a channel that receives
// the close code the server ended the connection with (-1 when it ended
// without a close frame).
func watchClose(t testing.TB, wsURL, clientID string) <-chan int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("watcher: dial: %v", err)
	}
	hello, err := session.Encode(&session.Hello{Version: session.ProtocolVersion, Client: clientID, Rev: -1, Name: "watcher"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, hello); err != nil {
		t.Fatalf("watcher: hello: %v", err)
	}
	_, frame, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("watcher: no welcome: %v", err)
	}
	if msg, err := session.DecodeServer(frame); err != nil {
		t.Fatalf("watcher: decode welcome: %v", err)
	} else if _, ok := msg.(*session.Welcome); !ok {
		t.Fatalf("watcher: got %T, want a welcome", msg)
	}
	code := make(chan int, 1)
	go func() {
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					code <- ce.Code
				} else {
					code <- -1
				}
				return
			}
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return code
}

// TestBinaryGracefulShutdown sends SIGTERM to a server that clients are
// typing into: it exits 0, every connection is closed with 1001, the
// clients come back to the restarted server by themselves, and nothing
// acknowledged is lost. While that server runs, a second one on the same
// directory is refused with a clear error.
func TestBinaryGracefulShutdown(t *testing.T) {
	seed := crashSeed(t)
	dir, addr := t.TempDir(), loopbackAddr(t)
	const shutdownWait = 15 * time.Second
	flags := []string{"--shutdown-wait", shutdownWait.String(), "--snapshot-every", "25", "--log-level", "info"}
	srv := startCowrite(t, "server #1", addr, dir, nil, flags...)
	srv.waitReady()

	docs := []string{"graceful-a", "graceful-b"}
	ts := startTypists(t, srv, docs, 2, seed)
	// Bare connections that only listen, many of them: the close frames
	// of a shutdown race with each other.
	var watchers []<-chan int
	var watched []string
	for i := range 24 {
		id := docs[i%len(docs)]
		watchers = append(watchers, watchClose(t, srv.wsURL(id), fmt.Sprintf("watcher-%d", i)))
		watched = append(watched, id)
	}
	ts.waitProgress(t, 20)

	srv.signal(syscall.SIGTERM)
	start := time.Now()
	if code := srv.wait(shutdownWait + time.Minute); code != 0 {
		t.Fatalf("server exited %d after SIGTERM, want 0:\n%s", code, srv.logTail(30))
	}
	t.Logf("server stopped %v after SIGTERM (shutdown wait %v)", time.Since(start).Round(time.Millisecond), shutdownWait)
	for i, w := range watchers {
		select {
		case code := <-w:
			if code != session.CloseGoingAway {
				t.Errorf("watcher %d of %s: close code %d, want %d (going away)", i, watched[i], code, session.CloseGoingAway)
			}
		case <-time.After(time.Minute):
			t.Errorf("watcher %d of %s: connection still open after the server exited", i, watched[i])
		}
	}
	for _, e := range srv.logEntries() {
		if strings.Contains(e.Message, "sync is off") {
			t.Errorf("server logged %q with sync on", e.Message)
		}
	}
	acked := ts.ackedNow()

	// The same directory and port: the clients reconnect by themselves.
	srv2 := startCowrite(t, "server #2", addr, dir, nil, flags...)
	srv2.waitReady()
	ts.checkDurable(t, srv2, acked, 1)

	// A second server on the same directory is refused while this one runs.
	other := startCowrite(t, "server #2b (same directory)", loopbackAddr(t), dir, nil, flags...)
	if code := other.wait(time.Minute); code == 0 {
		t.Errorf("a second server on the same directory exited 0, want an error:\n%s", other.log())
	}
	if log := other.log(); !strings.Contains(log, "in use") {
		t.Errorf("a second server on the same directory did not say the directory is in use:\n%s", log)
	}

	ts.waitProgress(t, ts.ackedTotal()+20)
	ts.stop(t)
	ts.checkConverged(t, srv2)

	// Stop gracefully once more: the directory reopens, and the stored
	// documents hold every acknowledged edit.
	srv2.signal(syscall.SIGTERM)
	if code := srv2.wait(shutdownWait + time.Minute); code != 0 {
		t.Fatalf("server #2 exited %d after SIGTERM, want 0:\n%s", code, srv2.logTail(30))
	}
	srv3 := startCowrite(t, "server #3", addr, dir, nil, flags...)
	srv3.waitReady()
	ts.verifyStored(t, srv3, seed)
	srv3.signal(syscall.SIGTERM)
	if code := srv3.wait(shutdownWait + time.Minute); code != 0 {
		t.Fatalf("server #3 exited %d after SIGTERM, want 0:\n%s", code, srv3.logTail(30))
	}
}

// TestBinarySyncOff starts the server with sync turned off, by flag and by
// environment: it serves, and says loudly what that risks.
func TestBinarySyncOff(t *testing.T) {
	cowriteBinary(t) // built once for both cases
	for _, tc := range []struct {
		name  string
		env   []string
		flags []string
	}{
		{name: "flag", flags: []string{"--sync=false"}},
		{name: "env", env: []string{"COWRITE_SYNC=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startCowrite(t, "server ("+tc.name+")", loopbackAddr(t), t.TempDir(), tc.env, tc.flags...)
			srv.waitReady()

			// It takes and acknowledges edits.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := client.Dial(ctx, client.Options{URL: srv.wsURL("nosync"), Name: "tester"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Submit(ins(0, "fast and loose")); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx); err != nil || c.Status() != client.Saved {
				t.Fatalf("not saved: %v (status %v)", err, c.Status())
			}

			srv.signal(syscall.SIGTERM)
			if code := srv.wait(time.Minute); code != 0 {
				t.Fatalf("exited %d after SIGTERM:\n%s", code, srv.logTail(30))
			}
			var warned bool
			for _, e := range srv.logEntries() {
				if e.Level == "warn" && strings.Contains(e.Message, "sync is off") &&
					strings.Contains(e.Message, "lose acknowledged edits") {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning that sync is off in the log:\n%s", srv.log())
			}
		})
	}
}
