package bundle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// runc 1.1 (and later: runc issue #4481) hangs for good when an exec races
// a freeze of the same container: `runc exec` passes its "paused?" check,
// the cgroup is frozen, and its `runc init` freezes while joining it, with
// runc exec, the shim and the checkpoint that froze the container waiting
// on it. Every checkpoint starts with a freeze, so for enabled containers
// ARCH keeps the two apart: an exec (detached, as the shim's are) runs
// under a shared lock, a freeze (pause, ARCH's own freeze) under an
// exclusive one. A second, "gate" lock makes a waiting freeze hold new
// execs off, so that a stream of probes cannot starve it.
//
// The locks are taken on files beside the record and handed to runc as
// open descriptors (inherited across execve): they are released when the
// runc that holds them exits.

// Every wait is bounded by ctx: an exec whose runc never returns (frozen by
// something ARCH does not serialize) must not hold the container's
// checkpoints, stops and other execs for ever. Callers decide what a
// timeout means.

// ExecLock takes the locks for an exec into container root/id and returns
// the held lock, to be inherited by runc exec.
func (r Records) ExecLock(ctx context.Context, root, id string) (*os.File, error) {
	gate, freeze, err := r.freezeLockFiles(root, id)
	if err != nil {
		return nil, err
	}
	defer gate.Close()
	if err := flockWithin(ctx, gate, unix.LOCK_SH); err != nil {
		freeze.Close()
		return nil, err
	}
	if err := flockWithin(ctx, freeze, unix.LOCK_SH); err != nil {
		freeze.Close()
		return nil, err
	}
	return freeze, nil // closing gate releases it: the exec is admitted
}

// FreezeLock takes the locks for freezing container root/id: no exec is
// under way and none starts until both files are closed.
func (r Records) FreezeLock(ctx context.Context, root, id string) ([]*os.File, error) {
	gate, freeze, err := r.freezeLockFiles(root, id)
	if err != nil {
		return nil, err
	}
	for _, f := range []*os.File{gate, freeze} {
		if err := flockWithin(ctx, f, unix.LOCK_EX); err != nil {
			gate.Close() // a freeze that gives up lets the execs in again
			freeze.Close()
			return nil, err
		}
	}
	return []*os.File{gate, freeze}, nil
}

// freezeLockFiles opens (creating) the gate and freeze lock files.
func (r Records) freezeLockFiles(root, id string) (gate, freeze *os.File, err error) {
	p, err := r.Path(root, id)
	if err != nil {
		return nil, nil, err
	}
	if gate, err = openLockFile(p + ".gate.lock"); err != nil {
		return nil, nil, err
	}
	if freeze, err = openLockFile(p + ".freeze.lock"); err != nil {
		gate.Close()
		return nil, nil, err
	}
	return gate, freeze, nil
}

// flockWithin takes the flock how on f, retrying until ctx is done.
func flockWithin(ctx context.Context, f *os.File, how int) error {
	delay := 500 * time.Microsecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case err != unix.EWOULDBLOCK && err != unix.EINTR:
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s: %w", f.Name(), ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// Inheritable clears close-on-exec on f, so that a runc exec'd in place of
// ARCH holds its lock until it exits.
func Inheritable(f *os.File) error {
	_, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0)
	return err
}

// EnabledMarker is the file that tells the C fast path (pkg/fastpath) that
// id may be an enabled container, whose execs and pauses ARCH serializes:
// <state dir>/enabled/<id>, beside the records folder.
func (r Records) EnabledMarker(id string) string {
	return filepath.Join(filepath.Dir(r.Dir), "enabled", id)
}

// MarkEnabled creates the marker of id.
func (r Records) MarkEnabled(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w %q", ErrBadID, truncate(id, 64))
	}
	p := r.EnabledMarker(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create marker folder: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create marker: %w", err)
	}
	return f.Close()
}

// UnmarkEnabled removes the marker of id unless another runc root still
// has an enabled container of that id.
func (r Records) UnmarkEnabled(id string) {
	if !ValidID(id) {
		return
	}
	if others, _ := filepath.Glob(filepath.Join(r.Dir, "*", id+".json")); len(others) > 0 {
		return
	}
	if err := os.Remove(r.EnabledMarker(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
	// A create of the same id under another root may have saved its record
	// and marked it between the check and the removal.
	if others, _ := filepath.Glob(filepath.Join(r.Dir, "*", id+".json")); len(others) > 0 {
		r.MarkEnabled(id)
	}
}
