package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// Fault injection: the wrapper is SIGKILLed at each stage of a checkpoint
// and of a restore (ARCH_TEST_FAULT, firing once). After each, the
// container is running or cleanly stopped as containerd believes, the
// store holds the previous complete image or none, and the next create
// starts (restored or fresh) with no manual cleanup. docs/faults.md holds
// the resulting table.

// checkpointFaults: the stage, and whether the checkpoint counts as done
// (container stopped, image kept) when the wrapper dies there.
var checkpointFaults = []struct {
	stage string
	done  bool
}{
	{"checkpoint:frozen", false},
	{"checkpoint:dump", false},
	{"checkpoint:archive", false},
	{"checkpoint:archived", false},
	{"checkpoint:committed", false},
	{"checkpoint:stopped", true},
}

func faultNode(t *testing.T, name, stage string, extra ...testbed.Option) *archNode {
	once := filepath.Join(t.TempDir(), "fired")
	opts := append([]testbed.Option{testbed.WithEnv("ARCH_TEST_FAULT", stage), testbed.WithEnv("ARCH_TEST_FAULT_ONCE", once)}, extra...)
	return newArchNode(t, name, "", "", opts...)
}

func TestFaultsDuringCheckpoint(t *testing.T) {
	for _, f := range checkpointFaults {
		t.Run(strings.ReplaceAll(f.stage, ":", "-"), func(t *testing.T) {
			n := faultNode(t, "fault", f.stage)
			id, key := "victim", ns+"/victim"
			logPath := n.TaskLog(ns, id)
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, 5)
			if _, err := n.TaskCheckpoint(ns, id, false); err == nil {
				t.Fatal("the checkpoint succeeded although the wrapper was killed")
			}
			if f.done {
				must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
				if manifest(t, n.arch.Store, key) == nil {
					t.Fatal("the completed checkpoint's image is gone")
				}
			} else {
				must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
				now := logNumbers(t, logPath)
				waitLogAbove(t, logPath, now[len(now)-1]+3)
				mustHaveNetwork(t, n, id)
				// The next ARCH call on the container settles the store;
				// ctr's own resume after the failed call was one.
				if m := manifest(t, n.arch.Store, key); m != nil {
					t.Fatalf("the store holds an image of a container that went on running: %v", m["imageID"])
				}
				must(t, n.Kill(ns, id, "SIGKILL"))
				must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
			}
			last := logNumbers(t, logPath)
			n.remove(t, id)

			// The next create: restored when the checkpoint completed, else fresh.
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, last[len(last)-1]+2)
			next := logNumbers(t, logPath)[len(last)]
			if f.done && next != last[len(last)-1]+1 || !f.done && next != 1 {
				t.Fatalf("next create: count went on at %d after %d (checkpoint done: %v)", next, last[len(last)-1], f.done)
			}
			// And the node checkpoints again; no staging folder is left behind.
			n.checkpointStop(t, id)
			if ents, _ := os.ReadDir(n.arch.StagingDir); len(ents) != 0 {
				t.Fatalf("staging folders left behind: %v", names(ents))
			}
			must(t, n.Cleanup(ns, id))
		})
	}
}

func TestFaultsDuringRestore(t *testing.T) {
	for _, stage := range []string{"restore:unpack", "restore:applied", "restore:runc"} {
		t.Run(strings.ReplaceAll(stage, ":", "-"), func(t *testing.T) {
			n := faultNode(t, "fault", stage)
			id, key := "victim", ns+"/victim"
			logPath := n.TaskLog(ns, id)
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, 5)
			last := n.checkpointStop(t, id)
			n.remove(t, id)

			err := n.Run(ns, testbed.CCounterRef, id, testbed.RunOpts{RuncBinary: n.wrapper,
				Env: map[string]string{"ARCH_ENABLE": "1"}, Detach: true})
			if err == nil {
				t.Fatal("ctr run succeeded although the wrapper was killed during the restore")
			}
			// containerd cleaned up the failed task: nothing of it runs.
			if st, _ := n.TaskStatus(ns, id); st == testbed.StatusRunning {
				t.Fatalf("a task runs after the failed create: %s", st)
			}
			if runcKnows(n, id) {
				t.Fatal("runc still knows the container of the failed create")
			}
			if manifest(t, n.arch.Store, key) == nil {
				t.Fatal("the image is gone after an interrupted restore")
			}
			if _, err := n.Ctr(ns, "container", "rm", id); err != nil {
				t.Logf("container rm: %v", err)
			}
			// The next create restores, with no manual cleanup.
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, last[len(last)-1]+2)
			must(t, consecutive(logNumbers(t, logPath)))
			must(t, n.Cleanup(ns, id))
		})
	}
}

// TestStoreFullAndCriuFailing: the archive write hits ENOSPC (a store on a
// 8 KiB tmpfs), or CRIU exits non-zero: the checkpoint fails with the
// reason, the container keeps running, no image is left.
func TestStoreFullAndCriuFailing(t *testing.T) {
	full := t.TempDir()
	must(t, syscall.Mount("tmpfs", full, "tmpfs", 0, "size=8k"))
	t.Cleanup(func() { syscall.Unmount(full, syscall.MNT_DETACH) })
	fake := t.TempDir()
	must(t, os.WriteFile(filepath.Join(fake, "criu"), []byte("#!/bin/sh\necho criu refuses >&2\nexit 1\n"), 0o755))
	cases := []struct {
		name, reason string
		store        string
		opts         []testbed.Option
	}{
		{"store full", "no space left on device", full, nil},
		{"criu exits non-zero", "criu", "", []testbed.Option{testbed.WithEnv("PATH", fake+":"+testbed.DaemonPath)}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "-"), func(t *testing.T) {
			n := newArchNode(t, "broken", c.store, "", c.opts...)
			id := "victim"
			logPath := n.TaskLog(ns, id)
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, 3)
			_, err := n.TaskCheckpoint(ns, id, false)
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.reason) {
				t.Fatalf("checkpoint: err = %v; want a failure that says %q", err, c.reason)
			}
			must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
			now := logNumbers(t, logPath)
			waitLogAbove(t, logPath, now[len(now)-1]+3)
			mustHaveNetwork(t, n, id)
			if m := manifest(t, n.arch.Store, ns+"/"+id); m != nil {
				t.Fatalf("a failed checkpoint left an image: %v", m["imageID"])
			}
			if ents, _ := os.ReadDir(keyDir(n.arch.Store, ns+"/"+id)); len(names(ents)) > 1 {
				t.Fatalf("a failed checkpoint left files: %v", names(ents))
			}
			must(t, n.Cleanup(ns, id))
		})
	}
}

func runcKnows(n *archNode, id string) bool {
	_, err := os.Stat(filepath.Join(n.RuncRoot, ns, id))
	return err == nil
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// mustHaveNetwork fails when CRIU's network lock (its "CRIU" iptables chain,
// which drops every packet) is still on the container's network namespace:
// a container that keeps running after a failed checkpoint must not be cut
// off.
func mustHaveNetwork(t *testing.T, n *archNode, id string) {
	t.Helper()
	pid, err := n.TaskPid(ns, id)
	must(t, err)
	out, err := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "iptables", "-w", "-S").CombinedOutput()
	must(t, err)
	if strings.Contains(string(out), "CRIU") {
		t.Fatalf("the container's network is still locked by CRIU:\n%s", out)
	}
}
