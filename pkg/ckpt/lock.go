package ckpt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/arch-ckpt/arch/pkg/flock"
	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Lock takes the exclusive lock of key, waiting until it is free or ctx is
// done. It creates the store and the key folder when needed. Call unlock
// exactly once to release it. The lock is flock(2) on <key folder>/.lock,
// through pkg/flock: it excludes other processes and other goroutines
// alike, so do not call a Store method that locks the same key (Commit,
// MarkRestored, RemoveIfCurrent) while holding it.
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
	held *flock.Lock
	dir  *saferoot.Dir
}

func (l *keyLock) release() {
	if l.held == nil {
		return
	}
	l.held.Release()
	l.dir.Close()
	l.held = nil
}

// lock acquires the lock of key. With create false it fails (wrapping
// fs.ErrNotExist) instead of creating a missing key folder. The lock is
// current only while its file is still the one in the folder and the
// folder still the one at the key's name: a concurrent GC may have removed
// it, and flock then starts over.
func (s *Store) lock(ctx context.Context, key Key, wait, create bool) (*keyLock, error) {
	if key.IsZero() {
		return nil, fmt.Errorf("%w: zero Key", ErrBadKey)
	}
	t := &keyLockFile{s: s, key: key, create: create}
	var held *flock.Lock
	var err error
	if wait {
		held, err = flock.Acquire(ctx, t, flock.Exclusive)
	} else {
		held, err = flock.TryAcquire(t, flock.Exclusive)
	}
	if err != nil {
		t.closeDir()
		if errors.Is(err, flock.ErrBusy) {
			err = fmt.Errorf("%w: %w", ErrBusy, err)
		}
		return nil, err
	}
	return &keyLock{held: held, dir: t.dir}, nil
}

// keyLockFile is the flock.Target of a key's lock: the .lock file in the
// key folder, reached through the store's root without following symlinks.
// dir is the key folder of the last Open.
type keyLockFile struct {
	s      *Store
	key    Key
	create bool
	dir    *saferoot.Dir
}

func (t *keyLockFile) Name() string { return t.key.String() }

func (t *keyLockFile) closeDir() {
	if t.dir != nil {
		t.dir.Close()
		t.dir = nil
	}
}

// Open opens the key folder and its lock file (creating the folder when
// asked); a folder removed between the two is opened again.
func (t *keyLockFile) Open() (*os.File, error) {
	for {
		t.closeDir()
		dir, err := t.s.openKeyDir(t.key, t.create)
		if err != nil {
			return nil, err
		}
		t.dir = dir
		f, err := dir.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, filePerm)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the folder went away between the open and the create
		}
		return f, err
	}
}

// Current reports whether f is still the lock file of the folder, and the
// folder still the key's folder in the store.
func (t *keyLockFile) Current(f *os.File) bool {
	fst, err := f.Stat()
	if err != nil {
		return false
	}
	lst, err := t.dir.Lstat(lockFile)
	if err != nil || !os.SameFile(fst, lst) {
		return false
	}
	root, err := t.s.openRoot(false)
	if err != nil {
		return false
	}
	defer root.Close()
	return root.SameAs(t.key.Folder(), t.dir)
}

// Unlink removes the lock file (a key's lock is removed with its folder,
// by GC, never on its own).
func (t *keyLockFile) Unlink() error { return t.dir.Remove(lockFile) }
