//go:build cgo

package fastpath

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/state"
	"github.com/arch-ckpt/arch/pkg/wrapper"
)

// The differential tests hold the C fast path (arch_fastpath_decide, the
// code the constructor runs) to the Go decision (wrapper.PassesThrough:
// config.Load, realrunc.Locate, runccmd.Parse and the handler table).
//
// The relation is an implication, not an equality: whenever C hands a call
// straight to runc, Go would hand it to the same runc unchanged too. C may
// send to Go whatever it is unsure of: unknown global flags, "--", every
// subcommand ARCH has a handler for (create, start, kill, ...; Go passes
// most of those on after a look at the container's record, which C cannot
// take), an exec or pause one of whose arguments has an enabled marker (Go
// also checks --detach and the record of --root's container), and any
// configuration it cannot read as Go does. The other direction would only
// cost speed; TestFastPathTakesCommonCalls keeps the usual calls fast.

// enabledIDs are the containers a fuzz node has enabled: ids that are
// also subcommands or look like flags, which runc accepts (and
// state.ValidID too) although containerd never makes them.
var enabledIDs = []string{"c1", "-", "--", "-c1", "--detach", "-d", "exec", "pause", "state", "a.b+c_d"}

// fuzzNode is a node with ARCH's configuration, a real runc candidate and
// the enabled markers of enabledIDs, as the wrapper's create leaves them.
type fuzzNode struct {
	dir, conf, pathConf, runc, state string
	decoyPath                        string // PATH entries with no usable runc
}

func newFuzzNode(tb testing.TB) *fuzzNode {
	tb.Helper()
	dir := tb.TempDir()
	n := &fuzzNode{dir: dir, conf: filepath.Join(dir, "arch.conf"), pathConf: filepath.Join(dir, "path.conf"),
		runc: filepath.Join(dir, "bin", "runc"), state: filepath.Join(dir, "state")}
	if err := os.MkdirAll(filepath.Dir(n.runc), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(n.runc, []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
		tb.Fatal(err)
	}
	common := "log_file = " + dir + "/arch.log\nstate_dir = " + n.state + "\n"
	if err := os.WriteFile(n.conf, []byte(common+"runc = "+n.runc+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(n.pathConf, []byte(common), 0o644); err != nil {
		tb.Fatal(err)
	}
	// PATH entries whose runc cannot be run: a FIFO and a plain file,
	// mode 0755 and 0644, and a folder.
	decoys := filepath.Join(dir, "decoys")
	for _, d := range []string{"fifo", "plain", "folder/runc"} {
		if err := os.MkdirAll(filepath.Join(decoys, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(decoys, "fifo", "runc"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(decoys, "plain", "runc"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	n.decoyPath = strings.Join([]string{decoys + "/fifo", decoys + "/plain", decoys + "/folder"}, ":")
	records := n.records()
	for _, id := range enabledIDs {
		if err := records.MarkEnabled(id); err != nil {
			tb.Fatal(err)
		}
	}
	return n
}

func (n *fuzzNode) records() state.Records {
	return state.NodeRecords(n.state)
}

// envs are the ways a node's wrapper finds runc: ARCH_RUNC, the
// configuration file, PATH.
func (n *fuzzNode) envs() map[string][]string {
	return map[string][]string{
		"ARCH_RUNC": {"PATH=/nonexistent", "ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + n.runc},
		"config":    {"PATH=/nonexistent", "ARCH_CONFIG=" + n.conf},
		"PATH":      {"PATH=relative:" + n.decoyPath + ":" + filepath.Dir(n.runc), "ARCH_CONFIG=" + n.pathConf},
	}
}

// enableUnderRoot gives every enabled id a record under the runc root the
// call names (as wrapper's call.root reads it), the worst case for the C
// side: Go then serializes whatever exec or pause names one of them.
func (n *fuzzNode) enableUnderRoot(tb testing.TB, argv []string) {
	tb.Helper()
	os.RemoveAll(filepath.Join(n.state, "containers"))
	cmd, err := runccmd.Parse(argv)
	if err != nil {
		return // Go passes it through whatever the records say
	}
	root := "/run/runc"
	if r, ok := cmd.GlobalGet("root"); ok && r != "" {
		root = r
	}
	for _, id := range enabledIDs {
		p, err := n.records().Path(root, id)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
}

// checkArgv checks the relation for argv (without the program name) in
// every environment of n.
func checkArgv(t *testing.T, n *fuzzNode, argv []string) {
	t.Helper()
	full := append([]string{"runc"}, argv...)
	recorded := false
	for name, env := range n.envs() {
		cRunc, cPass := decide(full, env)
		if !cPass {
			continue
		}
		if !recorded { // C reads only the markers: the records are for Go
			n.enableUnderRoot(t, argv)
			recorded = true
		}
		goRunc, goPass := wrapper.PassesThrough(full, env)
		if !goPass || goRunc != cRunc {
			t.Errorf("%s: %q: the C fast path execs %s, but Go would not pass it to that runc (Go: %q, %v)",
				name, argv, cRunc, goRunc, goPass)
		}
	}
}

// fuzzArgv decodes fuzz input as NUL-separated tokens (none can hold a
// NUL, as in a real argv); no bytes is no token.
func fuzzArgv(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), "\x00")
}

// FuzzFastPathAgreesWithGo checks that whatever the C fast path hands
// straight to runc, Go would hand to the same runc unchanged (see the
// relation above). The input is the argv after the program name,
// NUL-separated; testdata/fuzz/FuzzFastPathAgreesWithGo holds a seed for
// every runc subcommand, global flags with and without values, "--",
// flags after the subcommand and ids that look like flags.
func FuzzFastPathAgreesWithGo(f *testing.F) {
	n := newFuzzNode(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkArgv(t, n, fuzzArgv(data))
	})
}

// The calls containerd, Docker and the kubelet make most that ARCH has no
// business with must take the fast path: a C side that sent them all to
// Go would agree with Go trivially, and cost every call the Go runtime's
// start-up.
func TestFastPathTakesCommonCalls(t *testing.T) {
	n := newFuzzNode(t)
	root := []string{"--root", "/run/containerd/runc/k8s.io", "--log", "/run/c/log.json", "--log-format", "json"}
	for _, argv := range [][]string{
		append(root, "state", "c2"),
		append(root, "ps", "--format", "json", "c2"),
		append(root, "--systemd-cgroup", "exec", "--process", "/tmp/p.json", "--detach", "--pid-file", "/run/c/e.pid", "c2"),
		append(root, "pause", "c2"),
		append(root, "update", "--resources", "-", "c2"),
		append(root, "events", "--stats", "c2"),
		{"--root=/run/runc", "--debug", "--criu", "/usr/sbin/criu", "list", "-f", "json"},
		{"features"},
		{"--version"},
		{"-v"},
		{"exec", "-t", "c2", "sh", "-c", "exec c1"},
	} {
		n.enableUnderRoot(t, argv)
		for name, env := range n.envs() {
			if runc, ok := decide(append([]string{"runc"}, argv...), env); !ok || runc != n.runc {
				t.Errorf("%s: %q: fast path %q, %v; want %s", name, argv, runc, ok, n.runc)
			}
		}
	}
}

// Calls that must reach Go: ARCH's own subcommands, and exec and pause of
// an enabled container, however the id is written.
func TestFastPathLeavesARCHsCallsToGo(t *testing.T) {
	n := newFuzzNode(t)
	for _, argv := range [][]string{
		{"--root", "/r", "create", "--bundle", "/b", "c2"},
		{"start", "c2"},
		{"kill", "c2", "9"},
		{"delete", "--force", "c2"},
		{"checkpoint", "--image-path", "/i", "c2"},
		{"resume", "c2"},
		{"--root", "/r", "exec", "--detach", "--pid-file", "/p", "c1"},
		{"pause", "c1"},
		{"pause", "exec"},
		{"pause", "a.b+c_d"},
	} {
		n.enableUnderRoot(t, argv)
		for name, env := range n.envs() {
			if runc, ok := decide(append([]string{"runc"}, argv...), env); ok {
				t.Errorf("%s: %q: fast path execs %s; want Go", name, argv, runc)
			}
		}
	}
}
