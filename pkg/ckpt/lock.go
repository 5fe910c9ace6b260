package ckpt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Lock polling: flock(2) itself cannot be interrupted by a context, so a
// blocked Lock retries a non-blocking flock with a growing pause.
const (
	lockPollMin = 5 * time.Millisecond
	lockPollMax = 100 * time.Millisecond
)

// Lock takes the exclusive lock of key, waiting until it is free or ctx is
// done. It creates the store and the key folder when needed. Call unlock
// exactly once to release it. The lock is flock(2) on <key folder>/.lock:
// it excludes other processes and other goroutines alike, so do not call a
// Store method that locks the same key (Commit, MarkRestored,
// RemoveIfCurrent) while holding it.
func (s *Store) Lock(ctx context.Context, key Key) (unlock func(), err error) {
	l, err := s.lock(ctx, key, true, true)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}

// TryLock is Lock without waiting: it returns an error wrapping ErrBusy when
// someone else holds the lock.
func (s *Store) TryLock(key Key) (unlock func(), err error) {
	l, err := s.lock(context.Background(), key, false, true)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}

// keyLock is a held lock of one key folder. dir is the key folder itself,
// opened without following symlinks: everything done under the lock goes
// through it, never through a path.
type keyLock struct {
	f   *os.File
	dir *saferoot.Dir
}

func (l *keyLock) release() {
	if l.f == nil {
		return
	}
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
	l.dir.Close()
	l.f = nil
}

// lock acquires the lock of key. With create false it fails (wrapping
// fs.ErrNotExist) instead of creating a missing key folder. After flock
// succeeds, the lock file must still be the one in the folder, and the
// folder still the one at the key's name: a concurrent GC may have removed
// it, in which case it starts over.
func (s *Store) lock(ctx context.Context, key Key, wait, create bool) (*keyLock, error) {
	if key.IsZero() {
		return nil, fmt.Errorf("%w: zero Key", ErrBadKey)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		dir, err := s.openKeyDir(key, create)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		f, err := dir.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, filePerm)
		if errors.Is(err, fs.ErrNotExist) {
			dir.Close()
			continue // the folder went away between the open and the create
		}
		if err != nil {
			dir.Close()
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		if err := flock(ctx, f, wait); err != nil {
			f.Close()
			dir.Close()
			return nil, fmt.Errorf("lock %s: %w", key, err)
		}
		if s.stillCurrent(key, dir, f) {
			return &keyLock{f: f, dir: dir}, nil
		}
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
		dir.Close()
	}
}

// stillCurrent reports whether the locked file f is still the lock file of
// dir, and dir still the key's folder in the store.
func (s *Store) stillCurrent(key Key, dir *saferoot.Dir, f *os.File) bool {
	fst, err := f.Stat()
	if err != nil {
		return false
	}
	lst, err := dir.Lstat(lockFile)
	if err != nil || !os.SameFile(fst, lst) {
		return false
	}
	root, err := s.openRoot(false)
	if err != nil {
		return false
	}
	defer root.Close()
	return root.SameAs(key.Folder(), dir)
}

// lockWaitHook, set by tests only, is called once when a Lock starts
// waiting for f, the lock file it opened: the point the tests order their
// events by.
var lockWaitHook func(f *os.File)

// flock takes an exclusive flock on f, polling until ctx is done when wait
// is set, or failing with ErrBusy at once otherwise.
func flock(ctx context.Context, f *os.File, wait bool) error {
	pause := lockPollMin
	waiting := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
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
		if !waiting && lockWaitHook != nil {
			lockWaitHook(f)
		}
		waiting = true
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, lockPollMax)
	}
}
