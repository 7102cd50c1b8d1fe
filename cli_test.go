package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadCommandsNeedTheDirectory checks that backup and export on a
// data directory that does not exist fail, and create nothing.
func TestReadCommandsNeedTheDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"backup", "--data", missing, "--out", filepath.Join(t.TempDir(), "b")},
		{"export", "--data", missing, "--doc", "notes"},
	} {
		err := run(args)
		if err == nil || !strings.Contains(err.Error(), "data directory") {
			t.Errorf("%s: %v, want a data directory error", args[0], err)
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%s created %s", args[0], missing)
		}
	}
}

// capture runs f with *file (os.Stdout or os.Stderr) writing into a pipe,
// and returns what f wrote there and f's error.
func capture(t *testing.T, file **os.File, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := *file
	*file = w
	err = f()
	*file = old
	w.Close()
	out, _ := io.ReadAll(r)
	return string(out), err
}
