package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Real command lines as containerd's shim, Docker and the kubelet emit them.
var passthroughLines = [][]string{
	{"--root", "/run/containerd/runc/default", "--log", "/run/c/log.json", "--log-format", "json", "state", "c1"},
	{"--root", "/run/containerd/runc/k8s.io", "--log", "/run/c/log.json", "--log-format", "json", "--systemd-cgroup", "exec", "--process", "/tmp/runc-process1", "--detach", "--pid-file", "/run/c/e.pid", "c1"},
	{"--root", "/run/containerd/runc/default", "--log", "/run/c/log.json", "--log-format", "json", "kill", "--all", "c1", "9"},
	{"--root", "/run/containerd/runc/default", "ps", "--format", "json", "c1"},
	{"--root", "/run/containerd/runc/default", "pause", "c1"},
	{"--root", "/run/containerd/runc/default", "update", "--resources=-", "c1"},
	{"--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/c/log.json", "--log-format", "json", "delete", "--force", "c1"},
	{"features"},
	{"--version"},
	{"-no-such-global", "weird", "list", "-f", "json"},
	{"exec", "-t", "c1", "sh", "-c", "echo 'a b'  c"},
}

// paths are the two ways a pass-through call reaches runc: the C fast path
// before the Go runtime starts, and the Go path (ARCH_NO_FASTPATH=1). Both
// must give the same results.
var paths = map[string][]string{"fast path": nil, "go path": {"ARCH_NO_FASTPATH=1"}}

func TestPassThroughIsExact(t *testing.T) {
	for pathName, pathEnv := range paths {
		t.Run(pathName, func(t *testing.T) { testPassThroughIsExact(t, pathEnv) })
	}
}

func testPassThroughIsExact(t *testing.T, pathEnv []string) {
	n := newNode(t, "")
	for _, argv := range passthroughLines {
		t.Run(strings.Join(argv, " "), func(t *testing.T) {
			f := newFakeRunc(t, "echo runc-out; echo runc-err >&2; exit 7")
			res := run(t, append([]string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path, "SECRET=s3cr3t"}, pathEnv...), argv...)
			if res.code != 7 || res.stdout != "runc-out\n" || res.stderr != "runc-err\n" {
				t.Fatalf("got %+v; want runc's own output and exit status", res)
			}
			calls := f.calls(t)
			if len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
				t.Fatalf("runc saw %q, want %q", calls, argv)
			}
			env, _ := os.ReadFile(f.envFile)
			if !strings.Contains(string(env), "SECRET=s3cr3t") {
				t.Fatal("the environment did not reach runc")
			}
		})
	}
	if _, err := os.Stat(n.log); err == nil {
		t.Fatalf("pass-through calls wrote ARCH's log: %s", readFile(t, n.log))
	}
}

func TestPassThroughKeepsInheritedDescriptors(t *testing.T) {
	n := newNode(t, "")
	f := newFakeRunc(t, "")
	// The shell gives the wrapper fd 3 and 5, as go-runc does with --status-fd
	// and --preserve-fds; runc must get them at the same numbers.
	cmd := "exec 3</dev/null 5</dev/null; exec " + wrapperBin + " --root /r checkpoint --status-fd 3 c1"
	out, err := execShell(cmd, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path, "PATH=/usr/bin:/bin"})
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	fds, _ := os.ReadFile(f.fdFile)
	got := strings.Fields(string(fds))
	for _, want := range []string{"0", "1", "2", "3", "5"} {
		if !contains(got, want) {
			t.Fatalf("runc's open fds %v lack %s", got, want)
		}
	}
}

func TestVersionAndFeaturesAnswerAsRunc(t *testing.T) {
	n := newNode(t, "")
	f := newFakeRunc(t, `case "$1" in --version) printf 'runc version 1.1.5\ncommit: v1.1.5\nspec: 1.0.2-dev\n';; features) echo '{"ociVersionMin":"1.0.0"}';; esac`)
	for _, arg := range []string{"--version", "features"} {
		res := run(t, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, arg)
		want := map[string]string{"--version": "runc version 1.1.5\ncommit: v1.1.5\nspec: 1.0.2-dev\n", "features": "{\"ociVersionMin\":\"1.0.0\"}\n"}[arg]
		if res.code != 0 || res.stdout != want || res.stderr != "" {
			t.Fatalf("%s: %+v", arg, res)
		}
	}
}

func TestMissingRealRuncIsReportedInRuncLog(t *testing.T) {
	n := newNode(t, "runc = /nonexistent/runc\n")
	runcLog := filepath.Join(t.TempDir(), "log.json")
	res := run(t, []string{"ARCH_CONFIG=" + n.conf}, "--root", "/r", "--log", runcLog, "--log-format", "json", "state", "c1")
	if res.code == 0 || res.stdout != "" || res.stderr != "" {
		t.Fatalf("got %+v; want a non-zero exit and nothing printed", res)
	}
	lines := readJSONLines(t, runcLog)
	last := lines[len(lines)-1]
	if last["level"] != "error" || !strings.Contains(last["msg"].(string), "/nonexistent/runc") || last["time"] == nil {
		t.Fatalf("runc log line %v", last)
	}
	if !strings.Contains(readFile(t, n.log), "real runc not found") {
		t.Fatal("ARCH's log does not say runc is missing")
	}
}

func TestRuncFoundInPathSkipsTheWrapper(t *testing.T) {
	for pathName, pathEnv := range paths {
		t.Run(pathName, func(t *testing.T) { testRuncFoundInPathSkipsTheWrapper(t, pathEnv) })
	}
}

func testRuncFoundInPathSkipsTheWrapper(t *testing.T, pathEnv []string) {
	n := newNode(t, "")
	f := newFakeRunc(t, "echo real")
	selfDir := t.TempDir()
	self := filepath.Join(selfDir, "runc")
	if err := os.Link(wrapperBin, self); err != nil {
		copyFile(t, wrapperBin, self)
	}
	out, err := execCommand(self, []string{"state", "c1"}, append([]string{"ARCH_CONFIG=" + n.conf, "PATH=" + selfDir + ":" + f.dir + ":/usr/bin:/bin"}, pathEnv...))
	if err != nil || out != "real\n" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestRuncFromTheConfigurationFile(t *testing.T) {
	for pathName, pathEnv := range paths {
		t.Run(pathName, func(t *testing.T) {
			f := newFakeRunc(t, "echo configured")
			decoy := newFakeRunc(t, "echo from-path")
			for _, line := range []string{"runc = " + f.path, "  runc=\"" + f.path + "\"  # the real one"} {
				n := newNode(t, line+"\n")
				out, err := execCommand(wrapperBin, []string{"--root", "/r", "state", "c1"},
					append([]string{"ARCH_CONFIG=" + n.conf, "PATH=" + decoy.dir + ":/usr/bin:/bin"}, pathEnv...))
				if err != nil || out != "configured\n" {
					t.Fatalf("config line %q: got %q, %v", line, out, err)
				}
			}
		})
	}
}

func TestUnreadableConfigStillPassesThrough(t *testing.T) {
	f := newFakeRunc(t, "echo ok")
	runcLog := filepath.Join(t.TempDir(), "log.json")
	dir := t.TempDir()
	conf := filepath.Join(dir, "arch.conf")
	os.WriteFile(conf, []byte("log_file = "+dir+"/arch.log\nthis is not a config line\n"), 0o644)
	b := bundle(t, "ARCH_ENABLE=1")
	before := readFile(t, filepath.Join(b, "config.json"))
	res := run(t, []string{"ARCH_CONFIG=" + conf, "ARCH_RUNC=" + f.path},
		"--root", "/r", "--log", runcLog, "create", "--bundle", b, "c1")
	if res.code != 0 || res.stdout != "ok\n" {
		t.Fatalf("got %+v", res)
	}
	if readFile(t, filepath.Join(b, "config.json")) != before {
		t.Fatal("config.json changed although ARCH's configuration is broken")
	}
	if !strings.Contains(readFile(t, runcLog), "configuration") || !strings.Contains(readFile(t, dir+"/arch.log"), "line 2") {
		t.Fatal("the broken configuration is not reported in runc's and ARCH's logs")
	}
}

func TestUnparseableArgvPassesThroughWithAWarning(t *testing.T) {
	n := newNode(t, "")
	f := newFakeRunc(t, "exit 1")
	runcLog := filepath.Join(t.TempDir(), "log.json")
	argv := []string{"--log", runcLog, "create", "--bundle"}
	res := run(t, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, argv...)
	if res.code != 1 || res.stdout != "" || res.stderr != "" {
		t.Fatalf("got %+v", res)
	}
	if calls := f.calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
		t.Fatalf("runc saw %q", calls)
	}
	if !strings.Contains(readFile(t, runcLog), "needs a value") {
		t.Fatalf("runc log: %s", readFile(t, runcLog))
	}
}

// runc --version (or --help) before a subcommand prints and runs nothing
// (urfave/cli checks those flags first): ARCH must not prepare a create
// that never happens, on either path. The C fast path hands such calls
// straight to runc; Go must agree (pkg/fastpath's differential tests).
func TestVersionFlagBeforeASubcommandPassesThrough(t *testing.T) {
	for pathName, pathEnv := range paths {
		t.Run(pathName, func(t *testing.T) {
			for _, flag := range []string{"--version", "-v", "--help", "-h=true"} {
				n := newNode(t, "")
				f := newFakeRunc(t, "")
				b := bundle(t, "ARCH_ENABLE=1")
				before := readFile(t, filepath.Join(b, "config.json"))
				argv := []string{"--root", "/r", flag, "create", "--bundle", b, "c1"}
				res := run(t, append([]string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, pathEnv...), argv...)
				if res != (result{}) {
					t.Fatalf("%s: got %+v", flag, res)
				}
				if calls := f.calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
					t.Fatalf("%s: runc saw %q", flag, calls)
				}
				if readFile(t, filepath.Join(b, "config.json")) != before {
					t.Fatalf("%s: config.json changed", flag)
				}
				if _, err := os.Stat(n.state); err == nil {
					t.Fatalf("%s: ARCH wrote state for a create runc does not run", flag)
				}
			}
		})
	}
}
