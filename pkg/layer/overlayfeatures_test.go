package layer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountOverlayOpts is mountOverlay with extra mount options.
func mountOverlayOpts(t *testing.T, extra string, lower ...string) (merged, upper string) {
	t.Helper()
	requireRoot(t)
	base := t.TempDir()
	merged, upper, work := filepath.Join(base, "merged"), filepath.Join(base, "upper"), filepath.Join(base, "work")
	for _, d := range []string{merged, upper, work} {
		check(t, os.Mkdir(d, 0o755))
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,%s", strings.Join(lower, ":"), upper, work, extra)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount overlay with %s: %v", extra, err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged, upper
}

// With metacopy, a chown copies up only metadata (the data stays below);
// with redirect_dir, renaming a lower directory keeps its content below.
// Capture must still carry full contents, and Apply into a plain overlay
// must give the same view.
func TestCaptureFollowsMetacopyAndRenamedDirectories(t *testing.T) {
	lower := t.TempDir()
	writeTree(t, lower, map[string]string{
		"big/file":       string(make([]byte, 200<<10)) + "tail",
		"olddir/a":       "a",
		"olddir/sub/b":   "b",
		"keep/untouched": "u",
	})
	merged, upper := mountOverlayOpts(t, "metacopy=on,redirect_dir=on", lower)
	check(t, os.Lchown(filepath.Join(merged, "big/file"), 123, 456))
	check(t, os.Rename(filepath.Join(merged, "olddir"), filepath.Join(merged, "newdir")))
	check(t, os.WriteFile(filepath.Join(merged, "newdir/added"), []byte("n"), 0o644))
	var xr xattrReader
	xs, err := xr.list(filepath.Join(upper, "big/file"))
	check(t, err)
	if _, ok := overlayXattr(xs, "metacopy"); !ok {
		t.Skip("metacopy not in effect")
	}
	xs, err = xr.list(filepath.Join(upper, "newdir"))
	check(t, err)
	if _, ok := overlayXattr(xs, "redirect"); !ok {
		t.Skip("redirect_dir not in effect")
	}
	ov, err := FindOverlay(merged)
	check(t, err)
	ckpt := t.TempDir()
	_, err = Capture(context.Background(), ov, ckpt, CaptureOptions{})
	check(t, err)

	mergedB, _ := mountOverlay(t, lower)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Commit())
	sameListing(t, "A vs B", listing(t, merged), listing(t, mergedB))
}

// Lower layers of their own carry whiteouts and opaque directories (as
// containerd unpacks images): an opaque upper directory hides only what
// the merged lower view shows.
func TestOpaqueDirectoryOverSeveralLowerLayers(t *testing.T) {
	bottom, top := t.TempDir(), t.TempDir()
	writeTree(t, bottom, map[string]string{"d/a": "a", "d/b": "b", "d/sub/c": "c", "d/gone": "g"})
	writeTree(t, top, map[string]string{"d/top": "t", "d/b": "b2"})
	check(t, unix.Mknod(filepath.Join(top, "d/gone"), unix.S_IFCHR, 0)) // a whiteout in the image
	merged, _ := mountOverlayOpts(t, "index=off", top, bottom)
	check(t, os.RemoveAll(filepath.Join(merged, "d")))
	check(t, os.MkdirAll(filepath.Join(merged, "d/sub"), 0o755))
	check(t, os.WriteFile(filepath.Join(merged, "d/b"), []byte("new b"), 0o644))
	ov, err := FindOverlay(merged)
	check(t, err)
	ckpt := t.TempDir()
	stats, err := Capture(context.Background(), ov, ckpt, CaptureOptions{})
	check(t, err)
	// hidden: /d/a, /d/top, /d/sub/c (d/b and d/sub are in the upperdir;
	// d/gone was already deleted by the image)
	if stats.Deleted != 3 {
		b, _ := os.ReadFile(filepath.Join(ckpt, DeletedFiles))
		t.Errorf("deleted.files = %s", b)
	}
	mergedB, _ := mountOverlayOpts(t, "index=off", top, bottom)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Commit())
	sameListing(t, "A vs B", listing(t, merged), listing(t, mergedB))
}
