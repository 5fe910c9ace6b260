package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/drain"
)

// restoreRound is the restart of a drained node's containers.
type restoreRound struct {
	tried, restored, fresh, failed int
	wall                           time.Duration
}

// restoreAll starts again every container the round checkpointed, as a
// user does after a drain: the stopped task and its container are removed
// (not timed), then `ctr run` of the same id, image and command, which
// ARCH turns into a restore from its store ("create turned into restore"
// in its log; "starting fresh" when it could not). Timed: from the first
// ctr run to the last restored container running (ctr run -d returns once
// the task has started), d.width at a time.
func (d *drainRig) restoreAll(r drainRound) (restoreRound, error) {
	var rs restoreRound
	var ids []string
	for _, res := range r.rep.Results {
		if res.State == drain.Checkpointed {
			ids = append(ids, res.ID)
		}
	}
	rs.tried = len(ids)
	t0 := time.Now()
	if n, err := failures(forEach(ids, d.width, d.removeStopped)); err != nil {
		return rs, fmt.Errorf("removing %d of the %d checkpointed containers: %w", n, len(ids), err)
	}
	fmt.Fprintf(os.Stderr, "bench: %d checkpointed containers removed in %s\n", len(ids), round(time.Since(t0)))
	archLog := filepath.Join(d.work, "arch.log")
	from := logSize(archLog)
	t0 = time.Now()
	errs := forEach(ids, d.width, d.run)
	rs.wall = time.Since(t0)
	restored, fresh := restoreOutcomes(archLog, from)
	for i, id := range ids {
		switch {
		case errs[i] != nil:
			rs.failed++
			fmt.Fprintf(os.Stderr, "bench: restore of %s: %v\n", id, errs[i])
		case restored[id]:
			rs.restored++
		case fresh[id]:
			rs.fresh++
		default:
			rs.failed++ // running, but ARCH logged neither
			fmt.Fprintf(os.Stderr, "bench: %s runs, but ARCH's log says neither restored nor fresh\n", id)
		}
	}
	return rs, nil
}

// removeStopped waits until ARCH has stopped checkpointed container id
// (the task's status STOPPED), then deletes its task and container: what
// is left of it is its image in the store.
func (d *drainRig) removeStopped(id string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := d.ctrOut("task", "ls")
		if err == nil && taskStatus(out, id) == "STOPPED" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: task not stopped after a minute: %v %s", id, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := d.ctr("task", "rm", id); err != nil {
		return err
	}
	return d.ctr("c", "rm", id)
}

// taskStatus reads a task's status from `ctr task ls` (TASK PID STATUS).
func taskStatus(ls, id string) string {
	for _, l := range strings.Split(ls, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// restoreOutcomes reads from ARCH's log, from byte offset on, which
// containers' creates were turned into restores and which started fresh.
func restoreOutcomes(archLog string, offset int64) (restored, fresh map[string]bool) {
	restored, fresh = map[string]bool{}, map[string]bool{}
	eachLogLineFrom(archLog, offset, func(m map[string]any) {
		id, _ := m["id"].(string)
		msg, _ := m["msg"].(string)
		switch {
		case msg == "create turned into restore":
			restored[id] = true
		case strings.Contains(msg, "starting fresh"):
			fresh[id] = true
		}
	})
	return restored, fresh
}
