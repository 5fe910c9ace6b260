package realrunc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLocateSkipsTheWrapperItselfInPath(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	self := writeScript(t, a, "runc", "echo wrapper")
	real := writeScript(t, b, "runc", "echo real")
	got, err := Locate("", "relative:"+a+":"+b, self)
	if err != nil || got != real {
		t.Fatalf("Locate = %q, %v; want %q", got, err, real)
	}
}

func TestLocateSkipsAHardlinkOfTheWrapper(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	self := writeScript(t, a, "arch-wrapper", "")
	if err := os.Link(self, filepath.Join(b, "runc")); err != nil {
		t.Fatal(err)
	}
	if _, err := Locate("", b, self); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

// A runc in PATH that execve cannot run is skipped, as the C fast path
// (pkg/fastpath) skips it: both must exec the same binary.
func TestLocateSkipsWhatCannotBeRun(t *testing.T) {
	fifo, plain, real := t.TempDir(), t.TempDir(), t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifo, "runc"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(plain, "runc"), nil, 0o644)
	want := writeScript(t, real, "runc", "")
	got, err := Locate("", fifo+":"+plain+":"+real, "")
	if err != nil || got != want {
		t.Fatalf("Locate = %q, %v; want %s", got, err, want)
	}
}

func TestLocateConfigured(t *testing.T) {
	dir := t.TempDir()
	self := writeScript(t, dir, "arch-wrapper", "")
	real := writeScript(t, dir, "runc.real", "")
	notExec := filepath.Join(dir, "plain")
	os.WriteFile(notExec, nil, 0o644)
	cases := []struct {
		name, configured string
		ok               bool
	}{
		{"executable file", real, true},
		{"missing file", filepath.Join(dir, "nope"), false},
		{"not executable", notExec, false},
		{"a folder", dir, false},
		{"the wrapper itself", self, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Locate(c.configured, "/usr/sbin", self)
			if c.ok != (err == nil) || (c.ok && got != c.configured) {
				t.Fatalf("Locate(%q) = %q, %v", c.configured, got, err)
			}
			if !c.ok && !errors.Is(err, ErrNotFound) {
				t.Fatalf("err %v does not wrap ErrNotFound", err)
			}
		})
	}
}

func TestRunPassesGlobalFlagsAndReportsExitCode(t *testing.T) {
	dir := t.TempDir()
	runc := writeScript(t, dir, "runc", `echo "$@"; echo oops >&2; exit 3`)
	r := &Runner{Path: runc, Global: []string{"--root", "/run/x"}}
	out, err := r.Output(context.Background(), "state", "c1")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !strings.Contains(ee.Output, "oops") {
		t.Fatalf("err = %#v", err)
	}
	if strings.TrimSpace(string(out)) != "--root /run/x state c1" {
		t.Fatalf("argv seen by runc: %q", out)
	}
}

// TestRunTimeoutKillsTheWholeGroup checks that a hung call (like a hung CRIU
// started by runc) is killed together with its children.
func TestRunTimeoutKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	runc := writeScript(t, dir, "runc", `sleep 300 & echo $! > `+pidFile+`; trap '' TERM; wait`)
	r := &Runner{Path: runc, KillGrace: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := r.Run(ctx, Stdio{}, "checkpoint", "c1")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	data, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The grandchild is reparented and reaped by init (or is a zombie of
		// the shell that was killed): kill(pid, 0) fails or it is a zombie.
		if err := syscall.Kill(pid, 0); err != nil || isZombie(pid) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d of the timed-out runc is still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}
