package persist_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/cowrite/cowrite/persist"
)

// holdEnv names the directory that TestHelperHoldStore, run as a child
// process, keeps open.
const holdEnv = "PERSIST_TEST_HOLD_DIR"

// TestHelperHoldStore is not a test: run by TestStore_LockedByOtherProcess
// in a child process, it opens the store, says "ready" and holds the store
// until its standard input closes.
func TestHelperHoldStore(t *testing.T) {
	dir := os.Getenv(holdEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	s, err := persist.Open(context.Background(), persist.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStore_LockedByOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldStore$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}

	_, err = persist.Open(context.Background(), persist.Options{Dir: dir})
	if !errors.Is(err, persist.ErrLocked) {
		t.Fatalf("Open while another process has the store: %v, want ErrLocked", err)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	open(t, dir) // free once the other process is gone
}
