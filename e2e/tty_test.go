package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// Containers with a terminal (ctr run --tty, docker run -t, a pod with
// tty: true) get their console from the shim over runc's --console-socket.
// These tests sit at that terminal, as the user would.

// TestTerminalContainerMigratesWithItsConsole: an enabled counter on a
// terminal is checkpointed on node A and re-created on node B: B restores
// it, and B's terminal shows the count going on from where A's stopped.
func TestTerminalContainerMigratesWithItsConsole(t *testing.T) {
	store := t.TempDir()
	a := newArchNode(t, "tty-a", store, "")
	b := newArchNode(t, "tty-b", store, "")
	env := map[string]string{"ARCH_CHECKPOINT_KEY": "jobs/tty"}
	last := runTerminalAndCheckpoint(t, a, "tty-src", env)
	if m := manifest(t, store, "jobs/tty"); m["process"].(map[string]any)["terminal"] != true {
		t.Fatalf("the manifest does not record the terminal: %v", m["process"])
	}

	term := runTerminal(t, b, "tty-dst", env)
	shown := waitTerminalCounts(t, term, 3)
	if shown[0] <= last {
		t.Fatalf("node B's terminal starts at %d, node A's showed %d: not a continuation\n%s", shown[0], last, term.Output())
	}
	for i, v := range shown {
		if v != shown[0]+i {
			t.Fatalf("node B's terminal skips or repeats counts: %v", shown)
		}
	}
	if log := b.archLog(); !strings.Contains(log, "create turned into restore") {
		t.Fatalf("node B did not restore:\n%s", log)
	}
	t.Logf("node A's terminal showed up to %d, node B's goes on with %v", last, shown)
	must(t, b.Cleanup(ns, "tty-dst"))
}

// TestTerminalContainerStartsFreshOnItsConsoleWhenRestoreFailsLate: on node
// C, CRIU completes the restore (so runc has already handed a console over)
// and then reports failure. ARCH falls back to a fresh create, and the
// user's terminal must show that fresh container, counting from 1: the
// console of the failed restore must never reach the shim.
func TestTerminalContainerStartsFreshOnItsConsoleWhenRestoreFailsLate(t *testing.T) {
	store := t.TempDir()
	a := newArchNode(t, "tty-ok", store, "")
	realCriu, err := testbed.LookPath("criu")
	must(t, err)
	fake := t.TempDir()
	calls := filepath.Join(fake, "calls")
	// runc's first CRIU call is its version check, the second the restore.
	script := fmt.Sprintf(`#!/bin/sh
n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n >%[1]s
%[2]s "$@"; rc=$?
[ $n = 2 ] && exit 1
exit $rc
`, calls, realCriu)
	must(t, os.WriteFile(filepath.Join(fake, "criu"), []byte(script), 0o755))
	c := newArchNode(t, "tty-late", store, "",
		testbed.WithEnv("PATH", fake+":"+testbed.DaemonPath))
	env := map[string]string{"ARCH_CHECKPOINT_KEY": "jobs/tty-late"}
	runTerminalAndCheckpoint(t, a, "tty-src", env)

	term := runTerminal(t, c, "tty-dst", env)
	counts := waitTerminalCounts(t, term, 3)
	if counts[0] != 1 {
		t.Fatalf("after a failed restore the terminal shows %v; want a fresh count from 1\n%s", counts, term.Output())
	}
	must(t, consecutive(counts))
	if stray := strayProcesses(t, c, "tty-dst"); len(stray) != 0 {
		t.Fatalf("processes of the failed restore live on next to the fresh container: %v", stray)
	}
	log := c.archLog()
	if !strings.Contains(log, "restore failed, starting fresh") {
		t.Fatalf("node C's ARCH log does not report the failed restore:\n%s", log)
	}
	raw, _ := os.ReadFile(calls)
	if n, _ := strconv.Atoi(strings.TrimSpace(string(raw))); n < 2 {
		t.Fatalf("CRIU ran %d times on node C: the restore never reached CRIU", n)
	}
	must(t, c.Cleanup(ns, "tty-dst"))
}

// runTerminal starts an enabled shell counter on a terminal.
func runTerminal(t *testing.T, n *archNode, id string, env map[string]string) *testbed.Terminal {
	t.Helper()
	e := map[string]string{"ARCH_ENABLE": "1"}
	for k, v := range env {
		e[k] = v
	}
	term, err := n.RunTerminal(ns, testbed.ShellCounterRef, id, testbed.RunOpts{RuncBinary: n.wrapper, Env: e})
	must(t, err)
	t.Cleanup(term.Close)
	must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
	return term
}

// runTerminalAndCheckpoint runs an enabled counter on a terminal, lets it
// count, checkpoints it with exit and removes the container. It returns
// the last count its terminal showed.
func runTerminalAndCheckpoint(t *testing.T, n *archNode, id string, env map[string]string) int {
	t.Helper()
	term := runTerminal(t, n, id, env)
	waitTerminalCounts(t, term, 5)
	_, err := n.TaskCheckpoint(ns, id, true)
	must(t, err)
	// ctr run stays attached until the task has exited, then deletes it.
	if err := term.Wait(statusTimeout); err != nil && !strings.Contains(err.Error(), "exit status") {
		t.Fatal(err)
	}
	must(t, n.Do(ns, "container", "rm", id))
	counts := terminalCounts(term.Output())
	return counts[len(counts)-1]
}

// terminalCounts returns the lines of a terminal's output that are counts.
func terminalCounts(out string) []int {
	var counts []int
	for _, line := range strings.Split(out, "\n") {
		if v, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			counts = append(counts, v)
		}
	}
	return counts
}

// waitTerminalCounts polls until the terminal has shown at least n counts.
func waitTerminalCounts(t *testing.T, term *testbed.Terminal, n int) []int {
	t.Helper()
	var nums []int
	testbed.Eventually(t, countTimeout, func() error {
		if nums = terminalCounts(term.Output()); len(nums) < n {
			return fmt.Errorf("the terminal shows %d counts, waiting for %d: %q", len(nums), n, term.Output())
		}
		return nil
	})
	return nums
}

// strayProcesses lists the processes in the cgroup of container id that are
// not in its task's PID namespace: left there by something else than the
// task, such as a restore that failed after CRIU brought its tree back.
func strayProcesses(t *testing.T, n *archNode, id string) []string {
	t.Helper()
	pid, err := n.TaskPid(ns, id)
	must(t, err)
	taskNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	must(t, err)
	cg := ":" + n.CgroupPath(ns, id) + "\n"
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	var stray []string
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data)+"\n", cg) {
			continue
		}
		dir := filepath.Dir(f)
		if pidNS, err := os.Readlink(dir + "/ns/pid"); err == nil && pidNS != taskNS {
			cmd, _ := os.ReadFile(dir + "/cmdline")
			stray = append(stray, filepath.Base(dir)+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return stray
}
