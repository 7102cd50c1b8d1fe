package main

import (
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
