package ckpt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// crashLeftover writes a file into key's folder as an interrupted commit
// would have left it.
func crashLeftover(t *testing.T, s *Store, key Key, name string) {
	t.Helper()
	must(t, os.MkdirAll(s.keyDir(key), 0o700))
	must(t, os.WriteFile(filepath.Join(s.keyDir(key), name), []byte("half an archive"), 0o600))
}

const crashID = "20250301T100000.000000000Z-0badc0de"

func TestCrashLeftoversAreIncompleteAndCollected(t *testing.T) {
	s := newTestStore(t)
	onlyIncoming := mustKey(t, "crash/incoming")
	onlyArchive := mustKey(t, "crash/archive")
	withImage := mustKey(t, "crash/image")
	noArchive := mustKey(t, "crash/noarchive")

	crashLeftover(t, s, onlyIncoming, incomingPre+crashID+tarZstSuffix)
	crashLeftover(t, s, onlyArchive, crashID+tarSuffix)
	m := commit(t, s, withImage, makeStaging(t, stagingOpts{}), CompressionZstd)
	crashLeftover(t, s, withImage, incomingPre+crashID+tarZstSuffix)
	crashLeftover(t, s, withImage, ".manifest.json.tmp-123")
	gone := commit(t, s, noArchive, makeStaging(t, stagingOpts{}), CompressionNone)
	must(t, os.Remove(filepath.Join(s.keyDir(noArchive), gone.Archive.Name)))

	entries, err := s.List(context.Background(), false)
	must(t, err)
	status := map[string]Entry{}
	for _, e := range entries {
		status[e.Key.String()] = e
	}
	for key, want := range map[Key]Status{onlyIncoming: StatusIncomplete, onlyArchive: StatusIncomplete, withImage: StatusComplete, noArchive: StatusIncomplete} {
		if e := status[key.String()]; e.Status != want {
			t.Errorf("List: %s is %q (%v), want %q", key, e.Status, e.Err, want)
		}
	}
	if lo := status[withImage.String()].Leftovers; len(lo) != 2 {
		t.Errorf("leftovers next to the image: %v", lo)
	}
	for _, key := range []Key{onlyIncoming, onlyArchive} {
		if _, err := s.Current(key); !errors.Is(err, ErrNoImage) {
			t.Errorf("Current(%s) = %v, want ErrNoImage", key, err)
		}
	}

	removed, err := s.GC(context.Background(), 0, false)
	must(t, err)
	for _, r := range removed {
		t.Logf("%s: %s", r.Path, r.Reason)
	}
	if got := folderNames(t, s.Root()); !slices.Equal(got, []string{withImage.Folder()}) {
		t.Errorf("after GC the store holds %v", got)
	}
	want := []string{lockFile, m.Archive.Name, manifestFile}
	slices.Sort(want)
	if got := folderNames(t, s.keyDir(withImage)); !slices.Equal(got, want) {
		t.Errorf("after GC %s holds %v, want %v", withImage, got, want)
	}
	must(t, current(t, s, withImage).Verify(context.Background()))
}

func TestGCRemovesImagesOlderThanAndRespectsDryRun(t *testing.T) {
	s := newTestStore(t)
	old, fresh := mustKey(t, "gc/old"), mustKey(t, "gc/fresh")
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t0 }
	commit(t, s, old, makeStaging(t, stagingOpts{}), CompressionZstd)
	s.now = func() time.Time { return t0.Add(47 * time.Hour) }
	commit(t, s, fresh, makeStaging(t, stagingOpts{}), CompressionZstd)
	s.now = func() time.Time { return t0.Add(49 * time.Hour) }

	dry, err := s.GC(context.Background(), 24*time.Hour, true)
	must(t, err)
	before := folderNames(t, s.Root())
	if len(before) != 2 {
		t.Fatalf("dry run removed something: %v", before)
	}
	real, err := s.GC(context.Background(), 24*time.Hour, false)
	must(t, err)
	if !slices.EqualFunc(dry, real, func(a, b Removal) bool { return a.Path == b.Path && a.Reason == b.Reason }) {
		t.Errorf("dry run said %+v, GC did %+v", dry, real)
	}
	if got := folderNames(t, s.Root()); !slices.Equal(got, []string{fresh.Folder()}) {
		t.Errorf("after GC the store holds %v", got)
	}
	if len(real) != 2 || !strings.Contains(real[0].Reason, "older than 24h0m0s") || real[1].Reason != "empty key folder" {
		t.Errorf("removals %+v", real)
	}
	if _, err := s.GC(context.Background(), 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(fresh); err != nil {
		t.Errorf("GC with olderThan 0 removed an image: %v", err)
	}
}

func TestGCSkipsKeysLockedBySomeoneElse(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "gc/busy")
	crashLeftover(t, s, key, incomingPre+crashID+tarZstSuffix)
	unlock, err := s.Lock(context.Background(), key)
	must(t, err)
	removed, err := s.GC(context.Background(), time.Nanosecond, false)
	must(t, err)
	if len(removed) != 1 || !removed[0].Skipped || removed[0].Reason != "busy, skipped" {
		t.Fatalf("removals %+v", removed)
	}
	if got := folderNames(t, s.keyDir(key)); len(got) != 2 {
		t.Fatalf("GC touched a locked key: %v", got)
	}
	unlock()
	if _, err := s.GC(context.Background(), time.Nanosecond, false); err != nil {
		t.Fatal(err)
	}
	if got := folderNames(t, s.Root()); len(got) != 0 {
		t.Fatalf("after unlock, GC left %v", got)
	}
}

func TestGCLeavesWhatIsNotARCHs(t *testing.T) {
	s := newTestStore(t)
	must(t, os.MkdirAll(filepath.Join(s.Root(), "not a key"), 0o700))
	must(t, os.MkdirAll(filepath.Join(s.Root(), ".reserved"), 0o700))
	target := t.TempDir()
	must(t, os.WriteFile(filepath.Join(target, incomingPre+crashID+tarSuffix), nil, 0o600))
	must(t, os.Symlink(target, filepath.Join(s.Root(), "linked")))
	key := mustKey(t, "gc/foreign")
	crashLeftover(t, s, key, "operator-notes.txt")

	removed, err := s.GC(context.Background(), time.Nanosecond, false)
	must(t, err)
	for _, r := range removed {
		if !r.Skipped {
			t.Errorf("removed %s (%s)", r.Path, r.Reason)
		}
	}
	if got := folderNames(t, target); len(got) != 1 {
		t.Errorf("GC followed the symlink: %v", got)
	}
	if got := folderNames(t, s.keyDir(key)); !slices.Contains(got, "operator-notes.txt") {
		t.Errorf("GC removed an unknown file: %v", got)
	}
}
