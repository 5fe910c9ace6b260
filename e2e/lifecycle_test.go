package e2e

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// life describes one observed container life: which image, whether ARCH is
// enabled in its environment, whether to checkpoint and restore it, and the
// runc binary of the shim ("" for runc).
type life struct {
	image      string
	enabled    bool
	checkpoint bool
	runcBinary string
}

// observation is what a ctr user sees of a container's life, one line per
// fact, free of ids, counts and times so that two lives can be compared.
type observation struct {
	id    string
	lines []string
}

func (o *observation) add(step, format string, args ...any) {
	o.lines = append(o.lines, step+": "+strings.ReplaceAll(fmt.Sprintf(format, args...), o.id, "<ID>"))
}

// result records a ctr outcome: ok, or the failure (logged in full).
func (o *observation) result(t *testing.T, step string, err error) bool {
	t.Helper()
	if err != nil {
		t.Logf("%s %s: %v", o.id, step, err)
		o.add(step, "failed")
		return false
	}
	o.add(step, "ok")
	return true
}

// exec records an exec's exit code, stdout and stderr. ctr (containerd
// 1.6) can lose the tail of a short-lived exec's output: its client cancels
// the fifo copy once the exit arrives, with plain runc as with any wrapper.
// So the exec runs until two runs agree, at most three times, and the most
// complete answer is recorded: output only ever goes missing, so a wrapper
// that adds or drops output still shows.
func (o *observation) exec(t *testing.T, in *testbed.Instance, step string, cmd ...string) {
	t.Helper()
	var seen []string
	best := ""
	for attempt := 0; attempt < 3; attempt++ {
		res, err := in.Exec(ns, o.id, cmd...)
		line := ""
		if err != nil {
			line = fmt.Sprintf("ctr did not run: %v", err)
		} else {
			line = fmt.Sprintf("exit=%d stdout=%q stderr=%q", res.ExitCode, res.Stdout, res.Stderr)
		}
		if len(line) > len(best) {
			best = line
		}
		if slices.Contains(seen, line) {
			best = line
			break
		}
		seen = append(seen, line)
	}
	o.add(step, "%s", best)
}

// status waits for want and records the status reached.
func (o *observation) status(in *testbed.Instance, step, want string) {
	_ = in.WaitStatus(ns, o.id, want, statusTimeout)
	got, err := in.TaskStatus(ns, o.id)
	if err != nil {
		got = "error"
	}
	o.add(step, "status=%s", got)
}

// observe runs l as container id and returns what could be seen. The steps
// stop at the first failing ctr command (recorded as such).
func observe(t *testing.T, in *testbed.Instance, id string, l life) observation {
	t.Helper()
	o := observation{id: id}
	env := map[string]string{}
	if l.enabled {
		env["ARCH_ENABLE"] = "1"
	}
	if !o.result(t, "run", in.Run(ns, l.image, id, testbed.RunOpts{RuncBinary: l.runcBinary, Env: env, Detach: true})) {
		return o
	}
	o.status(in, "after run", testbed.StatusRunning)
	if l.runcBinary != "" {
		if opts, err := in.RuntimeOptions(ns, id); err != nil || !bytes.Contains(opts, []byte(l.runcBinary)) {
			t.Errorf("%s: containerd does not use %s as runc (options %q, %v)", id, l.runcBinary, opts, err)
		}
	}
	c, err := countAbove(in, id, 0)
	_, err2 := countAbove(in, id, c)
	o.add("counting", "%t", err == nil && err2 == nil)

	o.exec(t, in, "exec echo", "echo", "hello")
	o.exec(t, in, "exec exit 3", "sh", "-c", "echo out; echo err >&2; exit 3")
	o.exec(t, in, "exec missing binary", "/no/such/binary")

	if !o.result(t, "pause", in.Do(ns, "task", "pause", id)) {
		return o
	}
	o.status(in, "after pause", testbed.StatusPaused)
	o.add("frozen", "%t", frozen(in, id) == nil)
	o.exec(t, in, "exec while paused", "true")
	paused, _ := in.ReadCountHost(ns, id)
	if !o.result(t, "resume", in.Do(ns, "task", "resume", id)) {
		return o
	}
	o.status(in, "after resume", testbed.StatusRunning)
	_, err = countAbove(in, id, paused)
	o.add("moving again", "%t", err == nil)

	if l.checkpoint && !checkpointRestore(t, in, &o, l) {
		return o
	}

	if !o.result(t, "kill SIGTERM", in.Kill(ns, id, "SIGTERM")) {
		return o
	}
	o.status(in, "after kill", testbed.StatusStopped)
	code, err := in.DeleteTask(ns, id)
	if !o.result(t, "task rm", err) {
		return o
	}
	o.add("exit status", "%d", code)
	o.result(t, "container rm", in.Do(ns, "container", "rm", id))
	o.add("task log is the counter's output", "%t", counterLog(in, id) == nil)
	o.status(in, "after delete", testbed.StatusNone)
	return o
}

// counterLog checks that the task's log (its stdout and stderr from run
// until the end of the first task) holds exactly 1, 2, 3...: nothing
// printed by a runc wrapper may land there.
func counterLog(in *testbed.Instance, id string) error {
	b, err := os.ReadFile(in.TaskLog(ns, id))
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 3 {
		return fmt.Errorf("%s: task log has %d lines", id, len(lines))
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			return fmt.Errorf("%s: task log line %d is %q", id, i+1, l)
		}
	}
	return nil
}

// checkpointRestore runs `ctr task checkpoint` (leave-running), replaces the
// container by one restored from that image and records what was seen.
func checkpointRestore(t *testing.T, in *testbed.Instance, o *observation, l life) bool {
	t.Helper()
	id := o.id
	before, _ := in.ReadCount(ns, id)
	ref, err := in.TaskCheckpoint(ns, id, false)
	if !o.result(t, "task checkpoint", err) {
		return false
	}
	defer func() { _ = in.RemoveImages(ns, ref, ref+"-restorable") }()
	o.status(in, "after checkpoint", testbed.StatusRunning)
	files, err := in.CheckpointFiles(ns, ref)
	o.add("checkpoint image has inventory.img", "%t", err == nil && slices.Contains(files, "inventory.img"))
	after, _ := in.ReadCount(ns, id)
	killedAt, err := countAbove(in, id, after+15)
	o.add("running on after checkpoint", "%t", err == nil)

	if !o.result(t, "kill SIGKILL", in.Kill(ns, id, "SIGKILL")) {
		return false
	}
	o.status(in, "after SIGKILL", testbed.StatusStopped)
	code, err := in.DeleteTask(ns, id)
	o.add("exit status after SIGKILL", "%d (%v)", code, err)
	if !o.result(t, "container rm", in.Do(ns, "container", "rm", id)) {
		return false
	}
	if !o.result(t, "restore", in.RestoreTaskCheckpoint(ns, id, ref, l.runcBinary)) {
		return false
	}
	o.status(in, "after restore", testbed.StatusRunning)
	restored, err := countAbove(in, id, before)
	o.add("restored count continues from the checkpoint", "%t", err == nil && restored < killedAt)
	t.Logf("%s: checkpoint at %d..%d, killed at %d, restored at %d", id, before, after, killedAt, restored)
	return true
}
