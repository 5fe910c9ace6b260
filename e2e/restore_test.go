package e2e

import (
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

var counters = []struct{ name, ref string }{
	{"shell", testbed.ShellCounterRef},
	{"c", testbed.CCounterRef},
}

// TestCheckpointThenRunAgainContinuesTheCount is ARCH's main job: an
// enabled counter is checkpointed with plain `ctr task checkpoint`, its task
// and container are removed, and `ctr run` of the same container restores
// it: the count goes on where it stopped and the task is RUNNING.
func TestCheckpointThenRunAgainContinuesTheCount(t *testing.T) {
	n := newArchNode(t, "main", "", "")
	for _, c := range counters {
		t.Run(c.name, func(t *testing.T) {
			id := "cont-" + c.name
			key := ns + "/" + id
			logPath := n.TaskLog(ns, id)
			secret := map[string]string{"SECRET_TOKEN": "hunter2-" + id}
			n.run(t, c.ref, id, secret)
			waitLogAbove(t, logPath, 10)

			ref, err := n.TaskCheckpoint(ns, id, false)
			must(t, err)
			// ARCH stops the container once its image is committed, even
			// though ctr asked for --leave-running.
			must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
			if manifest(t, n.arch.Store, key) == nil {
				t.Fatalf("no image in the store for key %s", key)
			}
			mustHaveStreamedArchive(t, n, id)
			// containerd's own checkpoint image is not empty.
			files, err := n.CheckpointFiles(ns, ref)
			must(t, err)
			if !contains(files, "inventory.img") {
				t.Fatalf("containerd's checkpoint image lacks the dump: %v", files)
			}
			atCheckpoint := logNumbers(t, logPath)
			last := atCheckpoint[len(atCheckpoint)-1]
			n.remove(t, id)

			n.run(t, c.ref, id, secret)
			waitLogAbove(t, logPath, last+5)
			// One log for both lives (ctr appends): 1..N without a reset.
			must(t, consecutive(logNumbers(t, logPath)))
			st, err := n.TaskStatus(ns, id)
			if err != nil || st != testbed.StatusRunning {
				t.Fatalf("restored task: status %q, %v", st, err)
			}
			// checkpointctl reads the archive ARCH wrote: ctr names no
			// image in the container's spec.
			checkpointctlSees(t, archivePath(t, n.arch.Store, key), id, "")
			must(t, n.Cleanup(ns, id))
			// Environment values never reach a log (they hold secrets).
			if strings.Contains(n.archLog(), "hunter2") {
				t.Fatal("ARCH's log contains an environment value")
			}
		})
	}
}

// TestMigrationToAnotherNode checkpoints on node A and restores on node B,
// a second containerd with its own root and state that shares only the
// store folder, under another container id with the same key.
func TestMigrationToAnotherNode(t *testing.T) {
	store := t.TempDir()
	a := newArchNode(t, "node-a", store, "")
	b := newArchNode(t, "node-b", store, "")
	for _, c := range counters {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"ARCH_CHECKPOINT_KEY": "jobs/migrate-" + c.name}
			a.run(t, c.ref, "on-a-"+c.name, env)
			waitLogAbove(t, a.TaskLog(ns, "on-a-"+c.name), 10)
			a.checkpointStop(t, "on-a-"+c.name)
			before := logNumbers(t, a.TaskLog(ns, "on-a-"+c.name))

			id := "on-b-" + c.name
			b.run(t, c.ref, id, env)
			waitLogAbove(t, b.TaskLog(ns, id), 0)
			after := logNumbers(t, b.TaskLog(ns, id))
			if after[0] != before[len(before)-1]+1 {
				t.Fatalf("node B starts at %d; node A stopped at %d", after[0], before[len(before)-1])
			}
			if !strings.Contains(b.archLog(), "create turned into restore") {
				t.Fatal("node B's ARCH log does not show the restore")
			}
			must(t, a.Cleanup(ns, "on-a-"+c.name))
			must(t, b.Cleanup(ns, id))
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
