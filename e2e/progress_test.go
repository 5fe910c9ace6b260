package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
	"github.com/arch-ckpt/arch/pkg/drain"
)

// TestFreezeFailuresAreRetried: runc's "unable to freeze" (injected here
// into the first attempts) does not lose a checkpoint. containerd's pause
// before `ctr task checkpoint` is retried within the call; a checkpoint
// whose every freeze fails (its checkpoint_timeout runs out) leaves the
// container running, and checkpoint-all tries it again. Both end with an
// image, and the count goes on after the restore.
func TestFreezeFailuresAreRetried(t *testing.T) {
	t.Run("within the call", func(t *testing.T) {
		n := newArchNode(t, "freeze-retry", "", "", testbed.WithEnv("ARCH_TEST_FREEZE_FAILS", "2"))
		const id = "frz"
		n.run(t, testbed.CCounterRef, id, nil)
		waitLogAbove(t, n.TaskLog(ns, id), 3)
		nums := n.checkpointStop(t, id)
		if strings.Count(n.archLog(), "could not freeze the container; it runs on, trying again") != 2 {
			t.Fatalf("ARCH's log does not show two failed attempts:\n%s", n.archLog())
		}
		n.remove(t, id)
		n.run(t, testbed.CCounterRef, id, nil)
		waitLogAbove(t, n.TaskLog(ns, id), nums[len(nums)-1]+2)
		must(t, consecutive(logNumbers(t, n.TaskLog(ns, id))))
	})
	t.Run("by checkpoint-all", func(t *testing.T) {
		n := newArchNode(t, "freeze-drain", "", "checkpoint_timeout = 3s", testbed.WithEnv("ARCH_TEST_FREEZE_FAILS", "calls:1"))
		const id = "frz-drain"
		n.run(t, testbed.CCounterRef, id, nil)
		waitLogAbove(t, n.TaskLog(ns, id), 3)
		rep, run := checkpointAll(t, n, "--attempts", "3")
		if run.code != 0 {
			t.Fatalf("checkpoint-all exited %d\n%s", run.code, run.stderr)
		}
		r := resultsByName(rep)[ns+"/"+id]
		if r.State != drain.Checkpointed || r.Attempts != 2 || len(r.Retries) != 1 {
			t.Fatalf("result %+v; want checkpointed on the second attempt", r)
		}
		if !strings.Contains(run.stderr, "attempt 1 failed") && !strings.Contains(run.stderr, "#2") {
			t.Fatalf("checkpoint-all's progress does not show the retry:\n%s", run.stderr)
		}
	})
}

// TestLingeringProcessKeepsTheImage: once the image is committed and
// SIGKILL delivered, the checkpoint stands even when the container's init
// takes long to exit (injected: seen alive past the wait, as a process in
// D state on NFS is); the next create restores it.
func TestLingeringProcessKeepsTheImage(t *testing.T) {
	n := newArchNode(t, "linger", "", "", testbed.WithEnv("ARCH_TEST_FAULT", "checkpoint:linger"))
	const id = "linger"
	n.run(t, testbed.CCounterRef, id, nil)
	waitLogAbove(t, n.TaskLog(ns, id), 3)
	nums := n.checkpointStop(t, id)
	if !logHas(n.archLog(), `"id":"`+id+`"`, "image kept; its process is still exiting") {
		t.Fatalf("ARCH's log does not report the lingering process:\n%s", n.archLog())
	}
	if manifest(t, n.arch.Store, ns+"/"+id) == nil {
		t.Fatal("the image was not kept")
	}
	n.remove(t, id)
	n.run(t, testbed.CCounterRef, id, nil)
	waitLogAbove(t, n.TaskLog(ns, id), nums[len(nums)-1]+2)
	must(t, consecutive(logNumbers(t, n.TaskLog(ns, id))))
}

// TestUnreadableRecordRefusesTheCheckpoint: an enabled container whose
// ARCH record cannot be read is not handed to plain runc (which would stop
// it without an image): the checkpoint is refused, the container keeps
// counting, and the store has no image.
func TestUnreadableRecordRefusesTheCheckpoint(t *testing.T) {
	n := newArchNode(t, "bad-record", "", "")
	const id = "badrec"
	n.run(t, testbed.CCounterRef, id, nil)
	c := waitLogAbove(t, n.TaskLog(ns, id), 3)
	recs, _ := filepath.Glob(filepath.Join(n.arch.StateDir, "containers", "*", id+".json"))
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	must(t, os.WriteFile(recs[0], []byte("{corrupt"), 0o600))
	_, err := n.TaskCheckpoint(ns, id, true)
	if err == nil || !strings.Contains(err.Error(), "record is unreadable") {
		t.Fatalf("checkpoint: %v; want a refusal naming the record", err)
	}
	waitLogAbove(t, n.TaskLog(ns, id), c+3)
	if st, err := n.TaskStatus(ns, id); err != nil || st != testbed.StatusRunning {
		t.Fatalf("after the refusal: %s, %v", st, err)
	}
	if m := manifest(t, n.arch.Store, ns+"/"+id); m != nil {
		t.Fatalf("an image was written: %v", m)
	}
}

// TestContainersOwnCriuLogFile: a container whose own CRIU configuration
// (org.criu.config) sends CRIU's log elsewhere is checkpointed all the same
// (plain runc does it): ARCH takes the log from there.
func TestContainersOwnCriuLogFile(t *testing.T) {
	n := newArchNode(t, "own-criu-conf", "", "")
	conf := filepath.Join(t.TempDir(), "criu.conf")
	must(t, os.WriteFile(conf, []byte("# the container's own\nlog-file=custom.log\n"), 0o644))
	const id = "ownconf"
	must(t, n.Run(ns, testbed.CCounterRef, id, testbed.RunOpts{RuncBinary: n.wrapper, Detach: true,
		Env: map[string]string{"ARCH_ENABLE": "1"}, Args: []string{"--annotation", "org.criu.config=" + conf}}))
	must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
	waitLogAbove(t, n.TaskLog(ns, id), 3)
	nums := n.checkpointStop(t, id)
	if !logHas(n.archLog(), `"id":"`+id+`"`, "CRIU's log taken from where the container's CRIU configuration put it") {
		t.Fatalf("ARCH's log:\n%s", n.archLog())
	}
	n.remove(t, id)
	must(t, n.Run(ns, testbed.CCounterRef, id, testbed.RunOpts{RuncBinary: n.wrapper, Detach: true,
		Env: map[string]string{"ARCH_ENABLE": "1"}, Args: []string{"--annotation", "org.criu.config=" + conf}}))
	waitLogAbove(t, n.TaskLog(ns, id), nums[len(nums)-1]+2)
	if first := logNumbers(t, n.TaskLog(ns, id)); first[0] != 1 || fmt.Sprint(consecutive(first)) != "<nil>" {
		t.Fatalf("counts after the restore: %v", first)
	}
}
