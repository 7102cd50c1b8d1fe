package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction: its keyword in upper case and
// the rest of it, continuation lines joined.
type instruction struct {
	cmd, args string
}

// readDockerfile returns the instructions of the Dockerfile in the module
// root, stage by stage: each stage starts with its FROM.
func readDockerfile(t *testing.T) [][]instruction {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || (l == "" && line == "") {
			continue
		}
		if rest, ok := strings.CutSuffix(l, "\\"); ok {
			line += rest + " "
			continue
		}
		line += l
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	return stages
}

// TestDockerfile checks the essentials of the image: base images named
// by short name only, a static binary, and a final stage that runs it as
// a non-root user with the data volume, the port, the environment it is
// configured by and a health check that uses the binary itself.
func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t)
	static := false
	for _, stage := range stages {
		from := strings.Fields(stage[0].args)
		image := from[0]
		if strings.HasPrefix(image, "--") && len(from) > 1 {
			image = from[1] // FROM --platform=... image
		}
		// An image named with a registry host has a first path element
		// with a dot or a port, or is localhost.
		if first, _, ok := strings.Cut(image, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
			t.Errorf("FROM %s: names a registry host; use the image's short name", image)
		}
		for _, in := range stage {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") && strings.Contains(in.args, "CGO_ENABLED=0") {
				static = true
			}
		}
	}
	if !static {
		t.Error("no RUN builds the binary with CGO_ENABLED=0: the final image has no C library")
	}

	final := stages[len(stages)-1]
	args := map[string][]string{}
	for _, in := range final {
		args[in.cmd] = append(args[in.cmd], in.args)
	}
	last := func(cmd string) string {
		if a := args[cmd]; len(a) > 0 {
			return a[len(a)-1]
		}
		return ""
	}

	user, _, _ := strings.Cut(last("USER"), ":")
	if user == "" || user == "0" || user == "root" {
		t.Errorf("final stage runs as %q, want a non-root USER", last("USER"))
	}
	if !slices.ContainsFunc(args["VOLUME"], func(a string) bool { return a == "/data" || a == `["/data"]` }) {
		t.Errorf("final stage has no VOLUME /data (VOLUME %q)", args["VOLUME"])
	}
	if !slices.ContainsFunc(args["COPY"], func(a string) bool {
		return strings.Contains(a, "--chown="+user) && strings.HasSuffix(a, " /data")
	}) {
		t.Errorf("final stage does not COPY a /data owned by user %s: the volume would be root's", user)
	}
	env := strings.Join(args["ENV"], " ")
	if !strings.Contains(env, "COWRITE_DATA=/data") {
		t.Errorf("final stage does not set COWRITE_DATA=/data (ENV %q)", env)
	}
	port := "8080"
	if _, after, ok := strings.Cut(env, "COWRITE_ADDR="); ok {
		_, port, _ = strings.Cut(strings.Fields(after)[0], ":")
	}
	if !slices.ContainsFunc(args["EXPOSE"], func(a string) bool {
		return slices.Contains(strings.Fields(a), port) || slices.Contains(strings.Fields(a), port+"/tcp")
	}) {
		t.Errorf("final stage does not EXPOSE %s, the port of COWRITE_ADDR (EXPOSE %q)", port, args["EXPOSE"])
	}
	hc := last("HEALTHCHECK")
	if !strings.Contains(hc, "CMD") || !strings.Contains(hc, `"/cowrite"`) || !strings.Contains(hc, `"healthcheck"`) {
		t.Errorf("final stage's HEALTHCHECK %q does not run /cowrite healthcheck", hc)
	}
	if e := last("ENTRYPOINT"); e != `["/cowrite"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/cowrite\"]", e)
	}
	if c := last("CMD"); !strings.Contains(c, `"serve"`) {
		t.Errorf("CMD %s does not run serve", c)
	}
}

// TestDockerignore checks that the build context leaves out what the
// image builds itself or must not contain.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	for _, want := range []string{"web/node_modules", "web/dist", "data", ".git"} {
		if !slices.Contains(lines, want) && !slices.Contains(lines, want+"/") && !slices.Contains(lines, "/"+want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}
