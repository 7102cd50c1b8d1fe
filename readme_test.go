package main

import (
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

// commands are the subcommands whose flags the README must document.
var commands = []string{"serve", "bench", "backup", "restore", "export", "import", "token", "healthcheck"}

// flagsOf returns the flags a subcommand prints for -h.
func flagsOf(t *testing.T, cmd string) []string {
	t.Helper()
	out, err := capture(t, &os.Stderr, func() error { return run([]string{cmd, "-h"}) })
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("%s -h: %v, want flag.ErrHelp", cmd, err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("%s -h printed no flags:\n%s", cmd, out)
	}
	return names
}

// TestReadmeDocumentsEveryFlag checks that README.md names every flag of
// every subcommand, and the environment variable of every serve flag (by
// its rule, and by name where the README gives names).
func TestReadmeDocumentsEveryFlag(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, cmd := range commands {
		for _, name := range flagsOf(t, cmd) {
			if !strings.Contains(readme, "`--"+name+"`") && !strings.Contains(readme, "--"+name+" ") && !strings.Contains(readme, "--"+name+"=") {
				t.Errorf("README.md does not document %s's flag --%s", cmd, name)
			}
		}
	}
	if !strings.Contains(readme, "`COWRITE_` and the flag's name") {
		t.Error("README.md does not give the rule for environment variables")
	}
}
