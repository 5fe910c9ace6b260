package ckpt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/flock"
	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// waitingLocks makes every Lock that starts waiting say so on the returned
// channel (until the test ends).
func waitingLocks(t *testing.T) <-chan struct{} {
	ch := make(chan struct{}, 8)
	flock.WaitHook = func(*os.File) { ch <- struct{}{} }
	t.Cleanup(func() { flock.WaitHook = nil })
	return ch
}

func TestLockExcludesAndWaits(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	unlock, err := s.Lock(context.Background(), key)
	must(t, err)

	if _, err := s.TryLock(key); !errors.Is(err, ErrBusy) {
		t.Fatalf("TryLock on a held lock: err = %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, key); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with a deadline: err = %v, want DeadlineExceeded", err)
	}

	waiting := waitingLocks(t)
	got := make(chan error)
	go func() {
		u, err := s.Lock(context.Background(), key)
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second Lock returned while the first was held: %v", err)
	case <-waiting:
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestLockStartsOverWhenTheFolderWasRemoved(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	unlock, err := s.Lock(context.Background(), key)
	must(t, err)
	waiting := waitingLocks(t)
	got := make(chan error)
	go func() {
		u, err := s.Lock(context.Background(), key)
		if err == nil {
			// The lock must be on the file that is at the path now.
			if _, serr := os.Stat(filepath.Join(s.keyDir(key), lockFile)); serr != nil {
				err = serr
			}
			u()
		}
		got <- err
	}()
	<-waiting // it opened the old lock file and waits on it
	// What GC does to an empty key folder, lock held.
	must(t, os.Remove(filepath.Join(s.keyDir(key), lockFile)))
	must(t, os.Remove(s.keyDir(key)))
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestSymlinkedKeyFolderIsRefused(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	elsewhere := t.TempDir()
	commit(t, s, mustKey(t, "default/real"), makeStaging(t, stagingOpts{}), CompressionZstd)
	must(t, os.Symlink(elsewhere, s.keyDir(key)))

	if _, err := s.Current(key); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Current: err = %v, want ErrCorrupt", err)
	}
	if _, err := s.Commit(context.Background(), key, makeStaging(t, stagingOpts{}), testMeta(), CommitOptions{}); !errors.Is(err, saferoot.ErrUnsafe) {
		t.Errorf("Commit: err = %v, want a refusal", err)
	}
	if _, err := s.TryLock(key); err == nil {
		t.Errorf("TryLock accepted a symlinked folder")
	}
	entries, err := s.List(context.Background(), false)
	must(t, err)
	if len(entries) != 2 || entries[0].Status != StatusCorrupt || entries[1].Status != StatusComplete {
		t.Errorf("List = %+v", entries)
	}
	if got := folderNames(t, elsewhere); len(got) != 0 {
		t.Errorf("something was written through the symlink: %v", got)
	}
}

// TestKeyFolderSwappedForASymlinkMidCommit replaces the key folder with a
// symlink to another folder while the commit runs (after the archive is
// written, before the manifest): the commit goes on in the folder it
// opened, and nothing is ever written through the symlink.
func TestKeyFolderSwappedForASymlinkMidCommit(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/swap")
	elsewhere := t.TempDir()
	moved := filepath.Join(t.TempDir(), "moved")
	swap := func() {
		must(t, os.Rename(s.keyDir(key), moved))
		must(t, os.Symlink(elsewhere, s.keyDir(key)))
	}
	_, err := s.Commit(context.Background(), key, makeStaging(t, stagingOpts{}), testMeta(), CommitOptions{BeforeInstall: swap})
	t.Logf("commit: %v", err)
	if got := folderNames(t, elsewhere); len(got) != 0 {
		t.Fatalf("something was written through the symlink: %v", got)
	}
	if _, err := s.Current(key); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Current through the symlink: %v, want ErrCorrupt", err)
	}
}

// TestStoreBelowARootRefusesASymlinkOnTheWay opens a store named as a
// folder below an allowed root, with one folder on the way replaced by a
// symlink: nothing is created through it, and nothing is read through it.
func TestStoreBelowARootRefusesASymlinkOnTheWay(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	must(t, os.Symlink(elsewhere, filepath.Join(root, "tenant")))
	s := Open(saferoot.Location{Root: root, Rel: "tenant/checkpoint"})
	key := mustKey(t, "default/c1")
	if _, err := s.Commit(context.Background(), key, makeStaging(t, stagingOpts{}), testMeta(), CommitOptions{}); !errors.Is(err, saferoot.ErrUnsafe) {
		t.Fatalf("Commit: err = %v, want ErrUnsafe", err)
	}
	if got := folderNames(t, elsewhere); len(got) != 0 {
		t.Fatalf("something was written through the symlink: %v", got)
	}
	if _, err := s.Current(key); errors.Is(err, ErrNoImage) || err == nil {
		t.Fatalf("Current = %v, want a refusal that is not 'no image'", err)
	}
	if _, err := s.List(context.Background(), false); !errors.Is(err, saferoot.ErrUnsafe) {
		t.Fatalf("List = %v, want ErrUnsafe", err)
	}
	// The same store without the symlink works, and creates what is missing.
	must(t, os.Remove(filepath.Join(root, "tenant")))
	if _, err := s.Commit(context.Background(), key, makeStaging(t, stagingOpts{}), testMeta(), CommitOptions{}); err != nil {
		t.Fatal(err)
	}
}
