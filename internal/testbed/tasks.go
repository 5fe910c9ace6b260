package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Task statuses as `ctr task ls` prints them; StatusNone means no task.
const (
	StatusRunning = "RUNNING"
	StatusPaused  = "PAUSED"
	StatusStopped = "STOPPED"
	StatusCreated = "CREATED"
	StatusNone    = ""
)

// TaskStatus is the STATUS column of `ctr task ls` for id, or StatusNone.
func (in *Instance) TaskStatus(ns, id string) (string, error) {
	f, err := in.taskRow(ns, id)
	if err != nil || f == nil {
		return StatusNone, err
	}
	return f[2], nil
}

// TaskPid is the PID column of `ctr task ls` for id (its init process on
// the host), or an error when there is no such task.
func (in *Instance) TaskPid(ns, id string) (int, error) {
	f, err := in.taskRow(ns, id)
	if err != nil {
		return 0, err
	}
	if f == nil {
		return 0, fmt.Errorf("task %s/%s: no such task", ns, id)
	}
	return strconv.Atoi(f[1])
}

// taskRow is the `ctr task ls` line of id split in fields, nil when absent.
func (in *Instance) taskRow(ns, id string) ([]string, error) {
	out, err := in.CtrOut(ns, "task", "ls")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id {
			return f, nil
		}
	}
	return nil, nil
}

// WaitStatus polls until the task of id has status want.
func (in *Instance) WaitStatus(ns, id, want string, timeout time.Duration) error {
	return Poll(timeout, func() error {
		got, err := in.TaskStatus(ns, id)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("task %s/%s: status %q, want %q", ns, id, got, want)
		}
		return nil
	})
}

var execSeq atomic.Int64

// Exec runs cmd in the task of id with a fresh exec id. The error is only
// about running ctr; the command's own failure is in ExitCode (ctr exits
// with the process's exit code, or 1 with a "ctr: ..." message).
func (in *Instance) Exec(ns, id string, cmd ...string) (Result, error) {
	execID := fmt.Sprintf("e2e-%d-%d", os.Getpid(), execSeq.Add(1))
	return in.CtrResult(ns, append([]string{"task", "exec", "--exec-id", execID, id}, cmd...)...)
}

// Kill sends signal (a name such as SIGTERM or a number) to the task.
func (in *Instance) Kill(ns, id, signal string) error {
	_, err := in.Ctr(ns, "task", "kill", "--signal", signal, id)
	return err
}

// exitWarning is how ctr 1.6 `task rm` reports a stopped task's status: as
// a warning on stderr, while ctr itself exits 0.
var exitWarning = regexp.MustCompile(`exit with non-zero exit code (\d+)`)

// DeleteTask deletes the stopped task of id and returns its exit status.
func (in *Instance) DeleteTask(ns, id string) (int, error) {
	res, err := in.CtrResult(ns, "task", "rm", id)
	if err != nil {
		return -1, err
	}
	if res.ExitCode != 0 {
		return -1, fmt.Errorf("ctr task rm %s: exit %d: %s", id, res.ExitCode, res.Stderr)
	}
	if m := exitWarning.FindStringSubmatch(res.Stderr); m != nil {
		return strconv.Atoi(m[1])
	}
	return 0, nil
}

// Cleanup removes container id whatever its state: task killed and
// deleted, container deleted, and its `ctr task checkpoint` images removed.
func (in *Instance) Cleanup(ns, id string) error {
	_, _ = in.Ctr(ns, "task", "kill", "--signal", "SIGKILL", id)
	if st, _ := in.TaskStatus(ns, id); st == StatusPaused {
		// A frozen task gets its SIGKILL when thawed.
		_, _ = in.Ctr(ns, "task", "resume", id)
	}
	// Stopped, or gone: an attached `ctr run` deletes its task itself.
	_ = Poll(10*time.Second, func() error {
		if st, err := in.TaskStatus(ns, id); err != nil || (st != StatusStopped && st != StatusNone) {
			return fmt.Errorf("task %s/%s: status %q: %v", ns, id, st, err)
		}
		return nil
	})
	if st, _ := in.TaskStatus(ns, id); st != StatusNone {
		if _, err := in.Ctr(ns, "task", "rm", "--force", id); err != nil {
			return err
		}
	}
	if out, err := in.Ctr(ns, "container", "rm", id); err != nil && !strings.Contains(out, "not found") {
		return err
	}
	images, err := in.CtrOut(ns, "image", "ls", "-q")
	if err != nil {
		return err
	}
	for _, ref := range strings.Fields(images) {
		if strings.HasPrefix(ref, CheckpointPrefix+id+":") {
			if _, err := in.Ctr(ns, "image", "rm", ref); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadCount reads a counter's /tmp/count through `ctr task exec cat`.
func (in *Instance) ReadCount(ns, id string) (int, error) {
	res, err := in.Exec(ns, id, "cat", "/tmp/count")
	if err != nil {
		return 0, err
	}
	if res.ExitCode != 0 {
		return 0, fmt.Errorf("cat /tmp/count in %s: exit %d: %s", id, res.ExitCode, res.Stderr)
	}
	return parseCount(res.Stdout)
}

// ReadCountHost reads a counter's /tmp/count from the host side of its
// root file system: it works while the task is paused.
func (in *Instance) ReadCountHost(ns, id string) (int, error) {
	b, err := os.ReadFile(filepath.Join(in.Rootfs(ns, id), "tmp", "count"))
	if err != nil {
		return 0, err
	}
	return parseCount(string(b))
}

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", s, err)
	}
	return n, nil
}
