package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/state"
)

// The checkpoint of an enabled container, step by step, over a scripted
// runc: each step fails in turn, and the test checks what is left behind
// (the record's checkpoint state, the store, the container, staging, the
// locks), as docs/faults.md describes for a wrapper that dies.

// checkpointed sets up the enabled container c1 (running) on a new node
// (extra: lines of its arch.conf).
func checkpointed(t *testing.T, extra ...string) (*testNode, *fakeRunc, string) {
	n := newTestNode(t, strings.Join(extra, ""))
	rc := newFakeRunc(t)
	b := n.bundle("c1", "/bin/train", "--epochs=9")
	if n.create(rc, b, "c1") {
		t.Fatal("a create with no image restored")
	}
	if ph := n.record("c1"); ph == nil {
		t.Fatal("no record after create")
	}
	return n, rc, b
}

// checkpoint runs the caller's `runc checkpoint` of c1 (as containerd
// sends it, paused first or not) and returns its exit status.
func (n *testNode) checkpoint(rc *fakeRunc) (int, bool, string) {
	n.t.Helper()
	work := filepath.Join(n.dir, "caller-work")
	code, handled := n.call(rc, "checkpoint", "--image-path", filepath.Join(n.dir, "caller-image"), "--work-path", work, "c1").checkpoint()
	dumpLog, _ := os.ReadFile(filepath.Join(work, "dump.log"))
	return code, handled, string(dumpLog)
}

// keptRunning checks a failed checkpoint left the container as it was:
// alive, not frozen by ARCH, the record's checkpoint failed with why,
// nothing in staging, the locks free, no image.
func keptRunning(t *testing.T, n *testNode, rc *fakeRunc, wantStatus, why string) {
	t.Helper()
	if !rc.initAlive() || rc.status != wantStatus {
		t.Errorf("container: alive %v, status %q; want alive and %q", rc.initAlive(), rc.status, wantStatus)
	}
	ck := n.record("c1").Checkpoint
	if ck == nil || ck.State != state.CheckpointFailed || !strings.Contains(ck.Reason, why) {
		t.Errorf("record's checkpoint %+v, want failed: %q", ck, why)
	}
	if img := n.image(); img != "" {
		t.Errorf("image %s left in the store", img)
	}
	if left := n.stagingLeft(); len(left) > 0 {
		t.Errorf("staging left: %v", left)
	}
	if rec := n.record("c1"); rec.SkipResume || rec.CheckpointedImage != "" {
		t.Errorf("record marks a checkpoint: %+v", rec)
	}
	n.locksFree("c1")
}

func TestCheckpointCommitsKillsAndSettles(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.freezeFails = 2 // runc's freezer gives up twice: retried
	code, handled, _ := n.checkpoint(rc)
	if !handled || code != 0 {
		t.Fatalf("checkpoint: exit %d, handled %v\n%s", code, handled, n.archLog())
	}
	if rc.called(stepPause) != 3 {
		t.Errorf("%d pauses, want 3 (two refused by the freezer)", rc.called(stepPause))
	}
	img := n.image()
	rec := n.record("c1")
	ck := rec.Checkpoint
	if img == "" || ck == nil || ck.State != state.CheckpointSettled || ck.ImageID != img {
		t.Fatalf("image %q, checkpoint %+v", img, ck)
	}
	if !rec.SkipResume || rec.CheckpointedImage != img {
		t.Fatalf("record %+v", rec)
	}
	if rc.initAlive() || rc.called(stepKillAll) != 1 {
		t.Fatalf("container alive %v after %d kill --all", rc.initAlive(), rc.called(stepKillAll))
	}
	if _, err := os.Stat(filepath.Join(n.dir, "caller-image", "pages-1.img")); err != nil {
		t.Errorf("the caller's --image-path has no dump: %v", err)
	}
	if left := n.stagingLeft(); len(left) > 0 {
		t.Errorf("staging left: %v", left)
	}
	n.locksFree("c1")
	// The caller's resume that follows is answered, once.
	if code, handled := n.call(rc, "resume", "c1").dispatch(); !handled || code != 0 || rc.called(stepResume) != 0 {
		t.Fatalf("resume after the checkpoint: %d %v, runc resumes %d", code, handled, rc.called(stepResume))
	}
}

// A dump whose CRIU could not seize a task in time (one exiting, or
// between fork and exec, on a loaded machine) is tried again while the
// container is still frozen: the checkpoint succeeds on the next attempt,
// from a clean staging folder.
func TestCheckpointRetriesADumpCRIUCouldNotSeize(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.seizeFails = 1
	code, handled, _ := n.checkpoint(rc)
	if !handled || code != 0 {
		t.Fatalf("checkpoint: exit %d, handled %v\n%s", code, handled, n.archLog())
	}
	if rc.called(stepCheckpoint) != 2 || !strings.Contains(n.archLog(), "dumping again") {
		t.Fatalf("%d dumps; log:\n%s", rc.called(stepCheckpoint), n.archLog())
	}
	if ck := n.record("c1").Checkpoint; ck == nil || ck.State != state.CheckpointSettled || n.image() == "" {
		t.Fatalf("checkpoint %+v, image %q", ck, n.image())
	}
	if left := n.stagingLeft(); len(left) > 0 {
		t.Errorf("staging left: %v", left)
	}
	n.locksFree("c1")
}

// Seize failures that persist end the checkpoint after maxDumpAttempts,
// the container kept running; other dump failures are not tried again.
func TestCheckpointGivesUpOnSeizeFailuresAndOtherDumpErrors(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.seizeFails = maxDumpAttempts + 1
	if code, handled, _ := n.checkpoint(rc); !handled || code == 0 {
		t.Fatalf("checkpoint: exit %d, handled %v", code, handled)
	}
	if rc.called(stepCheckpoint) != maxDumpAttempts {
		t.Fatalf("%d dumps, want %d", rc.called(stepCheckpoint), maxDumpAttempts)
	}
	keptRunning(t, n, rc, "running", "CRIU dump")

	n, rc, _ = checkpointed(t)
	rc.fail[stepCheckpoint] = exitErr("checkpoint", "c1")
	n.checkpoint(rc)
	if rc.called(stepCheckpoint) != 1 {
		t.Fatalf("%d dumps of a dump that failed for another reason, want 1", rc.called(stepCheckpoint))
	}
}

func TestCheckpointStateFailsPassesToRunc(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.fail[stepState] = exitErr("state", "c1")
	if code, handled, _ := n.checkpoint(rc); handled {
		t.Fatalf("handled (exit %d): runc must answer a checkpoint of a container it does not know", code)
	}
	if ck := n.record("c1").Checkpoint; ck != nil {
		t.Fatalf("a checkpoint began: %+v", ck)
	}
	n.locksFree("c1")
}

func TestCheckpointFreezeFailsKeepsItRunning(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.fail[stepPause] = exitErr("pause", "c1") // not the freezer: no retry
	code, handled, dumpLog := n.checkpoint(rc)
	if !handled || code == 0 || !strings.Contains(dumpLog, "cannot freeze") {
		t.Fatalf("exit %d handled %v; dump.log: %q", code, handled, dumpLog)
	}
	if rc.called(stepPause) != 1 || rc.called(stepCheckpoint) != 0 {
		t.Fatalf("pauses %d, dumps %d", rc.called(stepPause), rc.called(stepCheckpoint))
	}
	if ck := n.record("c1").Checkpoint; ck != nil {
		t.Fatalf("a checkpoint began without a freeze: %+v", ck)
	}
	if !rc.initAlive() || rc.status != "running" || n.image() != "" {
		t.Fatalf("container %q alive %v, image %q", rc.status, rc.initAlive(), n.image())
	}
	n.locksFree("c1")
}

func TestCheckpointDumpFailsThawsAndRecordsWhy(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.fail[stepCheckpoint] = exitErr("checkpoint", "c1")
	code, handled, dumpLog := n.checkpoint(rc)
	if !handled || code == 0 || !strings.Contains(dumpLog, "CRIU dump") {
		t.Fatalf("exit %d handled %v; dump.log: %q", code, handled, dumpLog)
	}
	if rc.called(stepResume) != 1 {
		t.Errorf("%d resumes: ARCH froze it, ARCH must thaw it", rc.called(stepResume))
	}
	keptRunning(t, n, rc, "running", "CRIU dump")
	conf := state.CriuConfigFile(filepath.Join(n.dir, "state", "containers")) // any .criu.conf left?
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(conf), "*", "*.criu.conf")); len(left) > 0 {
		t.Errorf("CRIU configuration left: %v", left)
	}
}

func TestCheckpointTimeoutThawsAndRecordsWhy(t *testing.T) {
	n, rc, _ := checkpointed(t, "checkpoint_timeout = 2s\n")
	rc.hangs[stepCheckpoint] = true
	code, _, dumpLog := n.checkpoint(rc)
	if code == 0 || !strings.Contains(dumpLog, "timed out after 2s (checkpoint_timeout)") {
		t.Fatalf("exit %d; dump.log: %q", code, dumpLog)
	}
	keptRunning(t, n, rc, "running", "checkpoint_timeout")
}

// A container the caller paused (containerd pauses before a checkpoint)
// is left paused for the caller, who resumes it.
func TestCheckpointDumpFailsLeavesTheCallersPauseAlone(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.status = "paused"
	rc.fail[stepCheckpoint] = exitErr("checkpoint", "c1")
	if code, _, _ := n.checkpoint(rc); code == 0 {
		t.Fatal("checkpoint succeeded")
	}
	if rc.called(stepPause) != 0 || rc.called(stepResume) != 0 {
		t.Fatalf("pauses %d, resumes %d: the caller's pause is the caller's", rc.called(stepPause), rc.called(stepResume))
	}
	keptRunning(t, n, rc, "paused", "CRIU dump")
	if n.record("c1").Checkpoint.Froze {
		t.Error("the record says ARCH froze it")
	}
}

func TestCheckpointCommitRefusedKeepsItRunning(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.badDumpLog = true // CRIU said it failed, whatever runc's status
	code, _, dumpLog := n.checkpoint(rc)
	if code == 0 || !strings.Contains(dumpLog, "commit to") {
		t.Fatalf("exit %d; dump.log: %q", code, dumpLog)
	}
	if rc.called(stepKillAll)+rc.called(stepKill) != 0 {
		t.Fatal("killed without an image")
	}
	keptRunning(t, n, rc, "running", "commit to")
}

func TestCheckpointKillFailsDiscardsTheImage(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.fail[stepKillAll] = exitErr("kill", "--all", "c1")
	rc.fail[stepKill] = exitErr("kill", "c1")
	code, _, dumpLog := n.checkpoint(rc)
	if code == 0 || !strings.Contains(dumpLog, "could not be stopped after the commit") {
		t.Fatalf("exit %d; dump.log: %q", code, dumpLog)
	}
	keptRunning(t, n, rc, "running", "could not be stopped")
	if ck := n.record("c1").Checkpoint; ck.ImageID == "" {
		t.Error("the failed checkpoint does not name the image it committed and discarded")
	}
}

// A process that lingers after SIGKILL (D state on NFS): the kill was
// delivered, so the image stands.
func TestCheckpointKeepsTheImageOfALingeringProcess(t *testing.T) {
	n, rc, _ := checkpointed(t)
	rc.lingers = true
	defer func(w time.Duration) { exitWait = w }(exitWait)
	exitWait = 200 * time.Millisecond
	if code, _, _ := n.checkpoint(rc); code != 0 {
		t.Fatalf("exit %d\n%s", code, n.archLog())
	}
	rec := n.record("c1")
	if img := n.image(); img == "" || rec.Checkpoint.State != state.CheckpointSettled || rec.CheckpointedImage != img {
		t.Fatalf("image %q, record %+v", img, rec)
	}
	if !strings.Contains(n.archLog(), "process is still exiting") {
		t.Error("the log does not say the process is still exiting")
	}
}

// A checkpoint refused before anything starts: its record unreadable, or
// an option ARCH does not serve. The container keeps running.
func TestCheckpointRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(n *testNode)
		flags []string
		why   string
	}{
		{name: "unreadable record", why: "record is unreadable", setup: func(n *testNode) {
			p, _ := state.NodeRecords(n.dir+"/state").Path(n.root, "c1")
			os.WriteFile(p, []byte("{broken"), 0o600)
		}},
		{name: "pre-dump", flags: []string{"--pre-dump"}, why: "--pre-dump"},
		{name: "lazy pages", flags: []string{"--lazy-pages"}, why: "--lazy-pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, rc, _ := checkpointed(t)
			if tc.setup != nil {
				tc.setup(n)
			}
			args := append([]string{"checkpoint", "--image-path", n.dir + "/ci", "--work-path", n.dir + "/cw"}, tc.flags...)
			code, handled := n.call(rc, append(args, "c1")...).checkpoint()
			dumpLog, _ := os.ReadFile(n.dir + "/cw/dump.log")
			if !handled || code == 0 || !strings.Contains(string(dumpLog), tc.why) {
				t.Fatalf("exit %d handled %v; dump.log %q", code, handled, dumpLog)
			}
			if rc.called(stepPause)+rc.called(stepCheckpoint) != 0 || !rc.initAlive() || n.image() != "" {
				t.Fatal("a refused checkpoint touched the container or the store")
			}
		})
	}
}

// The wrapper of a checkpoint dies; the next ARCH call on the container
// settles it from what runc and the store show.
func TestInterruptedCheckpointsAreSettled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		state    state.CheckpointState
		image    bool   // the store has the interrupted checkpoint's image
		status   string // the container after the wrapper died
		want     state.CheckpointState
		keepsImg bool
	}{
		{name: "died during the dump", state: state.CheckpointPending, status: "paused", want: state.CheckpointFailed},
		{name: "died after the commit, container resumed", state: state.CheckpointDumped, image: true, status: "running", want: state.CheckpointFailed},
		{name: "died after the commit, container stopped", state: state.CheckpointCommitted, image: true, status: "stopped", want: state.CheckpointSettled, keepsImg: true},
		{name: "died after the kill", state: state.CheckpointKilled, image: true, status: "stopped", want: state.CheckpointSettled, keepsImg: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, rc, _ := checkpointed(t)
			img := ""
			if tc.image {
				// A checkpoint that went through, then its record put back
				// to where the dying wrapper left it.
				if code, _, _ := n.checkpoint(rc); code != 0 {
					t.Fatalf("checkpoint: %d", code)
				}
				img = n.image()
				rc.startInit()
			}
			rec := n.record("c1")
			rec.SkipResume, rec.CheckpointedImage = false, ""
			rec.Checkpoint = &state.Checkpoint{State: tc.state, Started: time.Now().Add(-time.Minute), Froze: true}
			if tc.state == state.CheckpointCommitted || tc.state == state.CheckpointKilled {
				rec.Checkpoint.ImageID = img
			}
			n.saveRecord(rec)
			rc.status = tc.status
			if tc.status == "stopped" {
				rc.stopInit()
			}
			// containerd's resume after the failed call triggers it.
			code, handled := n.call(rc, "resume", "c1").dispatch()
			ck := n.record("c1").Checkpoint
			if ck.State != tc.want {
				t.Fatalf("settled to %+v, want %s\n%s", ck, tc.want, n.archLog())
			}
			if got := n.image(); (got != "") != tc.keepsImg {
				t.Fatalf("image %q, want kept=%v", got, tc.keepsImg)
			}
			if tc.keepsImg && n.record("c1").CheckpointedImage != img {
				t.Fatal("the record does not keep the settled image for the poststop hook")
			}
			if tc.status == "stopped" && (!handled || code != 0) {
				t.Fatalf("resume of a container the checkpoint stopped: %d %v", code, handled)
			}
			if tc.status == "paused" && rc.status != "paused" {
				t.Fatalf("status %s: the caller's resume thaws it, not ARCH", rc.status)
			}
			n.locksFree("c1")
		})
	}
}
