package drain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/layer"
)

func mkfile(t *testing.T, p string, size int) {
	t.Helper()
	writeFile(t, p, []byte(strings.Repeat("x", size)))
}

func TestWalkLayerCountsFileData(t *testing.T) {
	upper := t.TempDir()
	mkfile(t, filepath.Join(upper, "a"), 1000)
	mkfile(t, filepath.Join(upper, "etc", "conf"), 200)
	mkfile(t, filepath.Join(upper, "deep", "er", "still", "f"), 30)
	if err := os.Mkdir(filepath.Join(upper, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A hardlink is captured as a link: its data counts once.
	if err := os.Link(filepath.Join(upper, "a"), filepath.Join(upper, "etc", "a-again")); err != nil {
		t.Fatal(err)
	}
	// A sparse file is captured by its data: one 4 KiB block of 8 MiB.
	sparse, err := os.Create(filepath.Join(upper, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sparse.WriteAt(make([]byte, 4096), 8<<20-4096); err != nil {
		t.Fatal(err)
	}
	sparse.Close()
	l, err := WalkLayer(context.Background(), upper, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// a, etc, etc/conf, etc/a-again, deep, deep/er, deep/er/still,
	// deep/er/still/f, empty, sparse
	if l.Files != 10 {
		t.Errorf("%d entries; want 10", l.Files)
	}
	if want := int64(1000 + 200 + 30); l.Bytes < want+4096 || l.Bytes > want+64<<10 {
		t.Errorf("%d bytes; want %d plus the sparse file's data (4 KiB, a few blocks at most), not its 8 MiB", l.Bytes, want)
	}
	if l.Upper != upper {
		t.Errorf("upper %q", l.Upper)
	}
}

// TestWalkLayerFollowsNoSymlink: a container's writable layer is the
// tenant's; a symlink in it to a big host folder or file counts as an
// entry, with no data, and what it points to is never walked.
func TestWalkLayerFollowsNoSymlink(t *testing.T) {
	outside := t.TempDir()
	mkfile(t, filepath.Join(outside, "big"), 1<<20)
	mkfile(t, filepath.Join(outside, "sub", "big2"), 1<<20)
	upper := t.TempDir()
	mkfile(t, filepath.Join(upper, "mine"), 10)
	for name, target := range map[string]string{
		"to-folder":   outside,
		"to-file":     filepath.Join(outside, "big"),
		"to-root":     "/",
		"to-relative": "../../../../../../..",
		"dangling":    "/nonexistent",
	} {
		if err := os.Symlink(target, filepath.Join(upper, name)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := WalkLayer(context.Background(), upper, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if l.Bytes != 10 || l.Files != 6 {
		t.Fatalf("%d bytes in %d entries; want 10 bytes in 6 (the file and 5 symlinks)", l.Bytes, l.Files)
	}
}

func TestWalkLayerIsBounded(t *testing.T) {
	upper := t.TempDir()
	mkfile(t, filepath.Join(upper, "f"), 1)
	if _, err := WalkLayer(context.Background(), upper, -time.Second); err == nil || !strings.Contains(err.Error(), "not done within") {
		t.Fatalf("a walk past its timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WalkLayer(ctx, upper, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("a walk after its context ended: %v", err)
	}
	deep := upper
	for range maxLayerDepth + 2 {
		deep = filepath.Join(deep, "d")
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WalkLayer(context.Background(), upper, time.Minute); err == nil || !strings.Contains(err.Error(), "deeper than") {
		t.Fatalf("a layer deeper than the bound: %v", err)
	}
	if _, err := WalkLayer(context.Background(), filepath.Join(upper, "missing"), time.Minute); err == nil {
		t.Fatal("a missing layer was measured")
	}
}

func TestRootUpperDir(t *testing.T) {
	proc := t.TempDir()
	for pid, file := range map[string]string{"10": "mountinfo.overlay", "11": "mountinfo.bind"} {
		b, err := os.ReadFile(filepath.Join("testdata", "mountinfo", file))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(proc, pid, "mountinfo"), b)
	}
	got, err := rootUpperDir(proc, 10)
	if want := "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/13/fs"; err != nil || got != want {
		t.Fatalf("overlay root: %q, %v; want %q", got, err, want)
	}
	if got, err := rootUpperDir(proc, 11); !errors.Is(err, layer.ErrNotOverlay) {
		t.Fatalf("a root that is no overlay: %q, %v; want ErrNotOverlay", got, err)
	}
	if _, err := rootUpperDir(proc, 12); err == nil || errors.Is(err, layer.ErrNotOverlay) {
		t.Fatalf("a process that is gone: %v; want an error, not 'no overlay'", err)
	}
}
