package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// finishWith makes a shell counter end on its own with status (see
// testbed's shell counter: it exits with what /tmp/exit holds), waits for
// its task to stop and removes it.
func finishWith(t *testing.T, n *archNode, id string, status int) {
	t.Helper()
	sh(t, n, id, fmt.Sprintf("echo %d > /tmp/exit", status))
	must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
	code, err := n.DeleteTask(ns, id)
	must(t, err)
	if code != status {
		t.Fatalf("%s exited with %d, want %d", id, code, status)
	}
	must(t, n.Do(ns, "container", "rm", id))
}

// waitImage polls until the key's image is there (want) or gone.
func waitImage(t *testing.T, store, key string, want bool) {
	t.Helper()
	testbed.Eventually(t, statusTimeout, func() error {
		if got := manifest(t, store, key) != nil; got != want {
			return fmt.Errorf("image of %s present: %t, want %t", key, got, want)
		}
		return nil
	})
}

// TestImageLifetimeFollowsTheExitStatus: the image a container was
// restored from stays while the workload is stopped from outside (a kill)
// or fails (exit 3), and goes once it finishes well (exit 0). A workload
// that keeps failing is restored at most max_restore_attempts times; then
// the image is discarded and it starts fresh, with the reason in ARCH's
// log.
func TestImageLifetimeFollowsTheExitStatus(t *testing.T) {
	n := newArchNode(t, "lifetime", "", "max_restore_attempts = 2")
	const id = "job"
	key := ns + "/" + id
	start := func() int {
		os.Remove(n.TaskLog(ns, id))
		n.run(t, testbed.ShellCounterRef, id, nil)
		waitLogAbove(t, n.TaskLog(ns, id), 0)
		return logNumbers(t, n.TaskLog(ns, id))[0]
	}
	checkpoint := func() {
		waitLogAbove(t, n.TaskLog(ns, id), 3)
		n.checkpointStop(t, id)
		n.remove(t, id)
	}

	// Finished well after a restore: the image goes.
	start()
	checkpoint()
	if first := start(); first == 1 {
		t.Fatal("not restored")
	}
	finishWith(t, n, id, 0)
	waitImage(t, n.arch.Store, key, false)
	if first := start(); first != 1 {
		t.Fatalf("after the workload finished, the next run starts at %d, want fresh", first)
	}

	// Killed after a restore (not finished): kept. Failing after a restore
	// (exit 3): kept, restored again, up to max_restore_attempts (2).
	checkpoint()
	if first := start(); first == 1 {
		t.Fatal("not restored")
	}
	must(t, n.Kill(ns, id, "SIGKILL"))
	must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
	n.remove(t, id)
	waitImage(t, n.arch.Store, key, true)
	if first := start(); first == 1 {
		t.Fatal("not restored after a kill")
	}
	finishWith(t, n, id, 3)
	testbed.Eventually(t, statusTimeout, func() error {
		if !logHas(n.archLog(), `"id":"`+id+`"`, "exited with a failure: image kept") {
			return fmt.Errorf("the failure is not noted yet")
		}
		return nil
	})
	waitImage(t, n.arch.Store, key, true)
	if first := start(); first != 1 {
		t.Fatalf("a third restore (max_restore_attempts = 2) started at %d", first)
	}
	if !logHas(n.archLog(), `"id":"`+id+`"`, "restored 2 times already", "discarded") {
		t.Fatalf("ARCH's log does not say why it started fresh:\n%s", n.archLog())
	}
	waitImage(t, n.arch.Store, key, false)
	must(t, n.Cleanup(ns, id))
}

// TestSharedWorkDirStartsFreshAfterAnUncheckpointedRun: in shared-file-
// system mode, a container restored once and then stopped without a new
// checkpoint has written its work dir past the image; the next create
// starts fresh, and ARCH's log and explain say why. With
// reuse_restored_images = true it restores.
func TestSharedWorkDirStartsFreshAfterAnUncheckpointedRun(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprint("reuse=", reuse), func(t *testing.T) {
			shared := testbed.SharedFolder(t)
			n := newArchNode(t, "shared-once", "", fmt.Sprint("reuse_restored_images = ", reuse))
			env := sharedEnv(shared, "jobs/once")
			const id = "once"
			n.run(t, testbed.ShellCounterRef, id, env)
			waitLogAbove(t, n.TaskLog(ns, id), 3)
			n.checkpointStop(t, id)
			n.remove(t, id)
			n.run(t, testbed.ShellCounterRef, id, env) // restored
			must(t, n.Kill(ns, id, "SIGKILL"))         // stopped, no new checkpoint
			must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
			n.remove(t, id)

			os.Remove(n.TaskLog(ns, id))
			n.run(t, testbed.ShellCounterRef, id, env)
			waitLogAbove(t, n.TaskLog(ns, id), 0)
			first := logNumbers(t, n.TaskLog(ns, id))[0]
			if reuse != (first != 1) {
				t.Fatalf("reuse_restored_images = %t: the run starts at %d", reuse, first)
			}
			if !reuse {
				if !logHas(n.archLog(), `"id":"`+id+`"`, "shared work dir has moved on") {
					t.Fatalf("ARCH's log does not say why:\n%s", n.archLog())
				}
				if out := explain(t, n, id); !strings.Contains(out, "shared work dir has moved on") {
					t.Fatalf("explain does not say why:\n%s", out)
				}
			}
			must(t, n.Cleanup(ns, id))
		})
	}
}
