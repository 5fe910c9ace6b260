package main

// Binary-level tests of arch-wrapper with a fake runc: what reaches runc,
// what the wrapper writes (nothing on stdout/stderr), and what ends up in
// runc's --log. The real containerd/runc/CRIU behaviour is proven by ../../e2e.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var wrapperBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "arch-wrapper-test-")
	if err != nil {
		panic(err)
	}
	wrapperBin = filepath.Join(dir, "arch-wrapper")
	// The Makefile holds the one build recipe (cgo fast path, static, tags).
	build := exec.Command("make", "-s", "-C", "../..", "build", "BIN="+dir)
	if out, err := build.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeRunc writes a runc that records its argv (one per line), its
// environment and its open descriptors, then prints what `body` says.
type fakeRunc struct {
	dir, path, argvFile, envFile, fdFile string
}

func newFakeRunc(t *testing.T, body string) *fakeRunc {
	t.Helper()
	dir := t.TempDir()
	f := &fakeRunc{dir: dir, path: filepath.Join(dir, "runc"),
		argvFile: filepath.Join(dir, "argv"), envFile: filepath.Join(dir, "env"), fdFile: filepath.Join(dir, "fds")}
	script := "#!/bin/sh\n" +
		`for a in "$@"; do printf '%s\n' "$a"; done >> ` + f.argvFile + "\n" +
		`echo --- >> ` + f.argvFile + "\n" +
		`env > ` + f.envFile + "\n" +
		`ls /proc/$$/fd > ` + f.fdFile + "\n" + body + "\n"
	if err := os.WriteFile(f.path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// calls returns every argv the fake runc saw.
func (f *fakeRunc) calls(t *testing.T) [][]string {
	b, err := os.ReadFile(f.argvFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var cur []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "---" {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	return out
}

// node is an ARCH configuration in a temp folder.
type node struct {
	dir, conf, log, state string
}

func newNode(t *testing.T, extra string) node {
	t.Helper()
	dir := t.TempDir()
	n := node{dir: dir, conf: filepath.Join(dir, "arch.conf"), log: filepath.Join(dir, "arch.log"), state: filepath.Join(dir, "state")}
	conf := "log_file = " + n.log + "\nstate_dir = " + n.state + "\nstore = " + dir + "/store\nstaging_dir = " + dir + "/staging\n" + extra
	if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the wrapper with env (plus PATH) and the given extra files.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(wrapperBin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

// bundle writes a config.json with the given env into a new bundle folder.
func bundle(t *testing.T, env ...string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755)
	spec := map[string]any{
		"ociVersion":  "1.0.2-dev",
		"process":     map[string]any{"args": []string{"/counter"}, "env": env, "cwd": "/"},
		"root":        map[string]any{"path": "rootfs"},
		"futureField": map[string]any{"kept": true},
	}
	b, _ := json.MarshalIndent(spec, "", "\t")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: line %q is not JSON: %v", path, l, err)
		}
		out = append(out, m)
	}
	return out
}
