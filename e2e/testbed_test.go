package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// TestBedWorkloads runs both test images under plain runc through their
// whole life: count, exec, pause/resume, SIGTERM, delete.
func TestBedWorkloads(t *testing.T) {
	in := node(t, "bed")
	for _, tc := range []struct{ name, ref string }{
		{"shell-counter", testbed.ShellCounterRef},
		{"c-counter", testbed.CCounterRef},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.name
			must(t, in.Run(ns, tc.ref, id, testbed.RunOpts{Detach: true}))
			must(t, in.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
			c := mustCountAbove(t, in, id, 0)
			mustCountAbove(t, in, id, c)

			res, err := in.Exec(ns, id, "sh", "-c", "echo out; echo err >&2; exit 3")
			must(t, err)
			if res.ExitCode != 3 || res.Stdout != "out\n" || res.Stderr != "err\n" {
				t.Fatalf("exec: got %+v, want exit 3, stdout \"out\\n\", stderr \"err\\n\"", res)
			}

			must(t, in.Do(ns, "task", "pause", id))
			must(t, in.WaitStatus(ns, id, testbed.StatusPaused, statusTimeout))
			must(t, frozen(in, id))
			if res, err := in.Exec(ns, id, "true"); err != nil || res.ExitCode == 0 {
				t.Fatalf("exec in a paused task: got %+v, %v; want a refusal", res, err)
			}
			paused, err := in.ReadCountHost(ns, id)
			must(t, err)
			must(t, in.Do(ns, "task", "resume", id))
			must(t, in.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
			mustCountAbove(t, in, id, paused)

			must(t, in.Kill(ns, id, "SIGTERM"))
			must(t, in.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
			code, err := in.DeleteTask(ns, id)
			must(t, err)
			if code != 143 {
				t.Fatalf("exit status after SIGTERM: %d, want 143", code)
			}
			must(t, in.Do(ns, "container", "rm", id))
			if st, err := in.TaskStatus(ns, id); err != nil || st != testbed.StatusNone {
				t.Fatalf("after delete: status %q, %v", st, err)
			}

			// The task's stdout went to its log: 1, 2, 3...
			log, err := os.ReadFile(in.TaskLog(ns, id))
			must(t, err)
			if !strings.HasPrefix(string(log), "1\n2\n3\n") {
				t.Fatalf("task log starts with %q, want \"1\\n2\\n3\\n\"", firstBytes(log, 20))
			}
		})
	}
}

// TestBedCheckpointRestore checkpoints the C counter with `ctr task
// checkpoint` (leave-running), deletes it and restores it: the count goes on
// from the checkpoint, not from 0 and not from where the original was killed.
func TestBedCheckpointRestore(t *testing.T) {
	in := node(t, "ckpt")
	const id = "cc"
	must(t, in.Run(ns, testbed.CCounterRef, id, testbed.RunOpts{Detach: true}))
	mustCountAbove(t, in, id, 5)

	before, err := in.ReadCount(ns, id)
	must(t, err)
	ref, err := in.TaskCheckpoint(ns, id, false)
	must(t, err)
	t.Logf("checkpoint image %s", ref)
	after, err := in.ReadCount(ns, id)
	must(t, err)
	must(t, in.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
	files, err := in.CheckpointFiles(ns, ref)
	must(t, err)
	if !slices.Contains(files, "inventory.img") {
		t.Fatalf("checkpoint holds %v: no inventory.img", files)
	}

	// Let the original run on, then remove it.
	killedAt := mustCountAbove(t, in, id, after+10)
	must(t, in.Kill(ns, id, "SIGKILL"))
	must(t, in.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
	code, err := in.DeleteTask(ns, id)
	must(t, err)
	if code != 137 {
		t.Fatalf("exit status after SIGKILL: %d, want 137", code)
	}
	must(t, in.Do(ns, "container", "rm", id))

	// What ctr 1.6 does with a task checkpoint image (see RestoreTaskCheckpoint).
	if out, err := in.Ctr(ns, "container", "restore", "--live", id, ref); err == nil {
		t.Logf("note: `ctr container restore` accepted a task checkpoint image: %s", out)
		_ = in.Cleanup(ns, id)
	} else {
		t.Logf("as expected, ctr container restore of a task checkpoint image: %v", err)
	}

	must(t, in.RestoreTaskCheckpoint(ns, id, ref, ""))
	must(t, in.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
	restored := mustCountAbove(t, in, id, before)
	if restored >= killedAt {
		t.Fatalf("restored count %d: want it to continue from the checkpoint (%d..%d), below %d where the original was killed", restored, before, after, killedAt)
	}
	mustCountAbove(t, in, id, restored)
	t.Logf("count %d..%d at checkpoint, original killed at %d, restored at %d and moving", before, after, killedAt, restored)

	// containerd 1.6 writes the container's spec into its content store at
	// every checkpoint and fails on the existing blob ("already exists":
	// `ctr task checkpoint` fails, `ctr container checkpoint` silently
	// leaves the task out) as long as an image holding it exists.
	if _, err := in.TaskCheckpoint(ns, id, false); err != nil {
		t.Logf("as expected, a second checkpoint while the first image exists: %v", err)
	} else {
		t.Logf("note: a second checkpoint worked while the first image exists")
	}
	must(t, in.RemoveImages(ns, ref, ref+"-restorable"))

	// The native pair: ctr container checkpoint --task / container restore.
	const ref2 = "arch-test/checkpoint-cc:native"
	must(t, in.ContainerCheckpoint(ns, id, ref2))
	at, err := in.ReadCount(ns, id)
	must(t, err)
	must(t, in.Cleanup(ns, id))
	must(t, in.Restore(ns, "cc2", ref2))
	must(t, in.WaitStatus(ns, "cc2", testbed.StatusRunning, statusTimeout))
	again := mustCountAbove(t, in, "cc2", restored)
	if again > at+50 {
		t.Fatalf("natively restored count %d: want it to continue from about %d", again, at)
	}
}

// TestBedTwoInstances runs two containerd side by side ("node A" and "node
// B") with the same container id on each.
func TestBedTwoInstances(t *testing.T) {
	a := node(t, "A")
	b := node(t, "B")
	if a.Address == b.Address || a.RuncRoot == b.RuncRoot || a.Cgroup == b.Cgroup {
		t.Fatalf("instances share a socket, runc root or cgroup: %+v / %+v", a, b)
	}
	const id = "same"
	must(t, a.Run(ns, testbed.ShellCounterRef, id, testbed.RunOpts{Detach: true}))
	must(t, b.Run(ns, testbed.CCounterRef, id, testbed.RunOpts{Detach: true}))
	ca := mustCountAbove(t, a, id, 0)
	cb := mustCountAbove(t, b, id, 0)

	// Stopping A's container leaves B's running.
	must(t, a.Kill(ns, id, "SIGTERM"))
	must(t, a.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
	mustCountAbove(t, b, id, cb)
	if st, err := b.TaskStatus(ns, id); err != nil || st != testbed.StatusRunning {
		t.Fatalf("B's task: %q, %v", st, err)
	}
	t.Logf("A counted to %d, B to more than %d", ca, cb)
}

func firstBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
