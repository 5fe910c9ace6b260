// Package flock is ARCH's one lock primitive: flock(2) on a file, shared or
// exclusive, waited for until a context is done, checked after it is taken
// (the file must still be the one at its name), and removable safely.
//
// Every lock in ARCH is one of these: a container's record lock and freeze
// locks (pkg/state), and a checkpoint key's lock in the store (pkg/ckpt).
//
// Rules that make removal safe: a lock file is unlinked only by a holder
// of the exclusive lock (Lock.Remove); a waiter that then gets the lock on
// the unlinked file sees that the name no longer leads to it and starts
// over on the new file. So two callers never both believe they hold one
// exclusive lock, whatever the interleaving of unlink and open.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Mode is how a lock is held.
type Mode int

const (
	// Shared locks exclude Exclusive ones, not each other.
	Shared Mode = unix.LOCK_SH
	// Exclusive locks exclude every other lock.
	Exclusive Mode = unix.LOCK_EX
)

func (m Mode) String() string {
	if m == Shared {
		return "shared"
	}
	return "exclusive"
}

// ErrBusy: TryAcquire found the lock held.
var ErrBusy = errors.New("lock is held by another process")

// Target is a lock file: how to open it (creating it), whether an open
// file is still the one its name leads to, and how to unlink it.
type Target interface {
	Open() (*os.File, error)
	Current(f *os.File) bool
	Unlink() error
	Name() string
}

// Polling: flock(2) cannot be interrupted by a context, so a waiting
// Acquire retries a non-blocking flock with a pause that grows from
// pollMin to pollMax (short waits stay short; long ones cost little).
const (
	pollMin = 500 * time.Microsecond
	pollMax = 50 * time.Millisecond
)

// WaitHook, for tests only, is called once when an Acquire starts waiting
// for f: the point tests order their events by. Nil in production.
var WaitHook func(f *os.File)

// Lock is a held lock.
type Lock struct {
	f      *os.File
	target Target
	mode   Mode
	gate   *Lock // the gate an exclusive Gated lock holds too
}

// Acquire takes the lock of t in mode, waiting until it is free or ctx is
// done (the error then wraps ctx.Err()).
func Acquire(ctx context.Context, t Target, mode Mode) (*Lock, error) {
	return acquire(ctx, t, mode, true)
}

// TryAcquire takes the lock of t in mode if it is free, or fails with an
// error wrapping ErrBusy.
func TryAcquire(t Target, mode Mode) (*Lock, error) {
	return acquire(context.Background(), t, mode, false)
}

func acquire(ctx context.Context, t Target, mode Mode, wait bool) (*Lock, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lock %s: %w", t.Name(), err)
		}
		f, err := t.Open()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", t.Name(), err)
		}
		if err := take(ctx, f, mode, wait); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s (%s): %w", t.Name(), mode, err)
		}
		if t.Current(f) {
			return &Lock{f: f, target: t, mode: mode}, nil
		}
		// Removed (or replaced) while we waited: its holder unlinked it.
		f.Close()
	}
}

// take flocks f in mode, polling until ctx is done when wait is set.
func take(ctx context.Context, f *os.File, mode Mode, wait bool) error {
	pause := pollMin
	waiting := false
	for {
		err := unix.Flock(int(f.Fd()), int(mode)|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("flock: %w", err)
		case !wait:
			return ErrBusy
		}
		if !waiting && WaitHook != nil {
			WaitHook(f)
		}
		waiting = true
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, pollMax)
	}
}

// File is the locked file: handed, inheritable, to a runc that must hold
// the lock until it exits (see Inheritable).
func (l *Lock) File() *os.File { return l.f }

// Release releases the lock. It may be called more than once; a nil Lock
// releases nothing.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.f = nil
	l.gate.Release()
}

// Remove unlinks the lock file and releases the lock: for a lock that is
// no longer needed (its container is gone). Only an exclusive holder may
// remove it; waiters then start over on a new file.
func (l *Lock) Remove() error {
	if l == nil || l.f == nil {
		return errors.New("flock: Remove of a released lock")
	}
	if l.mode != Exclusive {
		return fmt.Errorf("flock: Remove of %s needs the exclusive lock", l.target.Name())
	}
	err := l.target.Unlink()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("remove lock %s: %w", l.target.Name(), err)
	} else {
		err = nil
	}
	if l.gate != nil {
		if gerr := l.gate.target.Unlink(); gerr != nil && !errors.Is(gerr, os.ErrNotExist) && err == nil {
			err = fmt.Errorf("remove lock %s: %w", l.gate.target.Name(), gerr)
		}
	}
	l.Release()
	return err
}

// Inheritable clears close-on-exec on the locked file (and on its gate,
// for an exclusive Gated lock), so that a runc exec'd in place of ARCH
// holds the lock until it exits.
func (l *Lock) Inheritable() error {
	if _, err := unix.FcntlInt(l.f.Fd(), unix.F_SETFD, 0); err != nil {
		return err
	}
	if l.gate != nil {
		return l.gate.Inheritable()
	}
	return nil
}
