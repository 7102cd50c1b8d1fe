package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// child is a server that Run started: the cowrite binary serving on a free
// loopback port and a temporary data directory, with sync on.
type child struct {
	cmd  *exec.Cmd
	dir  string
	url  string // http://127.0.0.1:port
	exit chan error

	stderr tail
}

// startChild starts command (the binary and "serve") with extra arguments
// and waits until it answers /healthz.
func startChild(ctx context.Context, command, extra []string) (*child, error) {
	if len(command) == 0 {
		return nil, errors.New("loadgen: no server command")
	}
	dir, err := os.MkdirTemp("", "cowrite-bench-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{}, command[1:]...)
	args = append(args, "--addr", addr, "--data", dir, "--sync=true", "--log-level", "warn")
	args = append(args, extra...)
	c := &child{dir: dir, url: "http://" + addr, exit: make(chan error, 1)}
	c.cmd = exec.Command(command[0], args...)
	c.cmd.Stdout = &c.stderr
	c.cmd.Stderr = &c.stderr
	dieWithParent(c.cmd)
	if err := c.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start server: %w", err)
	}
	go func() { c.exit <- c.cmd.Wait() }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case err := <-c.exit:
			c.exit <- err
			c.cleanup()
			return nil, fmt.Errorf("server exited at start (%v): %s", err, c.stderr.String())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("server not healthy after 30s: %s", c.stderr.String())
		}
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop shuts the server down as on SIGTERM, kills it if it takes longer
// than 30s, and removes its data directory. It returns an error when the
// server did not stop cleanly.
func (c *child) stop() error {
	var err error
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err = <-c.exit:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exit
		err = errors.New("server did not stop within 30s; killed")
	}
	c.cleanup()
	if err != nil {
		return fmt.Errorf("server: %w: %s", err, c.stderr.String())
	}
	return nil
}

func (c *child) cleanup() { os.RemoveAll(c.dir) }

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last 4 KiB written to it: the end of the server's log, for
// error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
