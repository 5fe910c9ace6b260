package drain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// entries lists a folder's names (nil when it does not exist).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func openDir(t *testing.T, p string) *saferoot.Dir {
	t.Helper()
	d, err := saferoot.OpenTrusted(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestProbeMeasuresAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	bw, err := Probe(context.Background(), openDir(t, dir), ProbeOptions{Bytes: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if bw.Bytes != 3<<20 || bw.Took <= 0 || bw.PerSecond() <= 0 || bw.Free <= 0 {
		t.Fatalf("%+v, %.0f B/s", bw, bw.PerSecond())
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Fatalf("the probe left %v", left)
	}
}

func TestProbeStopsWritingAfterItsTime(t *testing.T) {
	dir := t.TempDir()
	bw, err := Probe(context.Background(), openDir(t, dir), ProbeOptions{Bytes: 64 << 20, WriteTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	if bw.Bytes != probeChunk {
		t.Fatalf("%d bytes written; want one write of %d once the time is up", bw.Bytes, probeChunk)
	}
}

// TestProbeLeavesNothingWhenInterrupted: a probe whose context ends (a
// signal) fails and leaves no file.
func TestProbeLeavesNothingWhenInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Probe(ctx, openDir(t, dir), ProbeOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted probe: %v", err)
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Fatalf("the interrupted probe left %v", left)
	}
}

// TestProbeTimesOutWithoutLeavingAFile: a store that does not answer in
// time (a hung mount) fails the probe at once, and the file, unlinked from
// the start, is not there while its writer still runs.
func TestProbeTimesOutWithoutLeavingAFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Probe(context.Background(), openDir(t, dir), ProbeOptions{Bytes: 8 << 20, Timeout: 1})
	if err == nil || !strings.Contains(err.Error(), "not done within") {
		t.Fatalf("probe past its timeout: %v", err)
	}
	if left := entries(t, dir); len(left) != 0 {
		t.Fatalf("the probe that timed out left %v", left)
	}
}

func TestProbeStore(t *testing.T) {
	root := t.TempDir()
	allowed := saferoot.Allowed{Roots: []string{root}, Store: filepath.Join(t.TempDir(), "node-store")}
	// The node's store and a store below an allowed root, neither of which
	// exists yet: created, as a first checkpoint would, and left empty.
	for _, store := range []string{allowed.Store, filepath.Join(root, "tenant", "ckpt")} {
		bw, err := ProbeStore(context.Background(), allowed, store, ProbeOptions{Bytes: 2 << 20})
		if err != nil || bw.Bytes != 2<<20 {
			t.Fatalf("%s: %+v, %v", store, bw, err)
		}
		if fi, err := os.Lstat(store); err != nil || !fi.IsDir() {
			t.Fatalf("%s was not created as a folder: %v", store, err)
		}
		if left := entries(t, store); len(left) != 0 {
			t.Fatalf("%s: the probe left %v", store, left)
		}
	}
	if _, err := ProbeStore(context.Background(), allowed, "/elsewhere/ckpt", ProbeOptions{}); !errors.Is(err, saferoot.ErrNotAllowed) {
		t.Fatalf("a store outside the allowed roots: %v", err)
	}
}

// TestProbeStoreRefusesSymlinks: a store a container named that is, or
// passes through, a symlink is refused as a checkpoint would refuse it;
// nothing is written where the symlink points.
func TestProbeStoreRefusesSymlinks(t *testing.T) {
	root := t.TempDir()
	target := t.TempDir() // say, a host folder the tenant wants filled
	allowed := saferoot.Allowed{Roots: []string{root}}
	if err := os.Symlink(target, filepath.Join(root, "store-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(root, "via")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(target, "ckpt"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, store := range []string{filepath.Join(root, "store-link"), filepath.Join(root, "via", "ckpt")} {
		bw, err := ProbeStore(context.Background(), allowed, store, ProbeOptions{Bytes: 2 << 20})
		if !errors.Is(err, saferoot.ErrUnsafe) {
			t.Errorf("%s: %+v, %v; want a refusal (ErrUnsafe)", store, bw, err)
		}
	}
	if left := entries(t, target); len(left) != 1 || left[0] != "ckpt" {
		t.Fatalf("the symlinks' target holds %v", left)
	}
	if left := entries(t, filepath.Join(target, "ckpt")); len(left) != 0 {
		t.Fatalf("the symlinks' target holds %v", left)
	}
	if fi, err := os.Lstat(filepath.Join(root, "store-link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v", err)
	}
}
