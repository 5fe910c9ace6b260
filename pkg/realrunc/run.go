package realrunc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// Runner runs the real runc as a child when ARCH has work to do after it.
type Runner struct {
	Path string
	// Global are the global flags of the original call (--root, --log,
	// --systemd-cgroup, ...), repeated on every call so that the child sees
	// the same runc state and cgroup driver as the caller.
	Global []string
	Env    []string
	// KillGrace is how long a timed-out call gets after SIGTERM before SIGKILL.
	KillGrace time.Duration
	// OnStart, when set, is called once the child runs (fault injection).
	OnStart func()
}

// Stdio says where the child's standard streams and extra descriptors go.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles become fds 3, 4, ... in the child (status-fd, preserve-fds).
	ExtraFiles []*os.File
}

// Inherit passes the wrapper's own stdio through to the child.
func Inherit() Stdio { return Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr} }

// ExitError reports a runc call that ran and exited non-zero.
type ExitError struct {
	Args   []string
	Code   int
	Output string // combined output when it was captured
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("runc %v exited with status %d", e.Args, e.Code)
	if e.Output != "" {
		msg += ": " + e.Output
	}
	return msg
}

// ErrTimeout is returned when a call did not finish before its context.
var ErrTimeout = errors.New("runc call timed out")

// Run runs `runc <Global> args...`. The child gets its own process group so
// that a timeout kills runc and the CRIU it started, not only runc.
// Run locks the calling goroutine to its OS thread for the child's life:
// Pdeathsig follows the thread that started the child.
func (r *Runner) Run(ctx context.Context, stdio Stdio, args ...string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	argv := append(append([]string{}, r.Global...), args...)
	cmd := exec.Command(r.Path, argv...)
	cmd.Args[0] = "runc"
	cmd.Env = r.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	cmd.ExtraFiles = stdio.ExtraFiles
	// Pdeathsig: a runc that ARCH started dies with ARCH (an OOM kill of the
	// wrapper must not leave a restore or a dump going on that nobody
	// will account for; CRIU aborts when its runc peer is gone).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start runc %v: %w", args, err)
	}
	if r.OnStart != nil {
		r.OnStart()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitErr(args, err)
	case <-ctx.Done():
	}
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	grace := r.KillGrace
	if grace == 0 {
		grace = 5 * time.Second
	}
	select {
	case <-done:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// CRIU may have left children of its own in the group.
	syscall.Kill(-pgid, syscall.SIGKILL)
	return fmt.Errorf("%w: runc %v: %w", ErrTimeout, args, ctx.Err())
}

// Output runs a call and returns its stdout; stderr is captured into the error.
func (r *Runner) Output(ctx context.Context, args ...string) ([]byte, error) {
	var out, errb limitedBuffer
	err := r.Run(ctx, Stdio{Stdout: &out, Stderr: &errb}, args...)
	var ee *ExitError
	if errors.As(err, &ee) {
		ee.Output = errb.String()
	}
	return out.Bytes(), err
}

func exitErr(args []string, err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Args: args, Code: ee.ExitCode()}
	}
	return fmt.Errorf("runc %v: %w", args, err)
}
