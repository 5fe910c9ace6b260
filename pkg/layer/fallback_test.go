package layer

import (
	"context"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// withoutOpenat2 makes the package resolve paths as on a kernel without
// openat2 (before Linux 5.6) until the test ends.
func withoutOpenat2(t *testing.T) {
	prev := noOpenat2.Swap(true)
	t.Cleanup(func() { noOpenat2.Store(prev) })
}

// TestFallbackNeverClosesTheRootfsDescriptor: the userspace resolver gets
// an *os.File of the rootfs; if that File owned the root's own descriptor,
// its finalizer would close it at some GC, under a restore still using it.
func TestFallbackNeverClosesTheRootfsDescriptor(t *testing.T) {
	withoutOpenat2(t)
	dir := t.TempDir()
	check(t, os.MkdirAll(dir+"/a/b", 0o755))
	r, err := openRootDir(dir)
	check(t, err)
	defer r.close()
	for i := 0; i < 200; i++ {
		fd, err := r.openIn("a/b", unix.O_PATH|unix.O_DIRECTORY)
		check(t, err)
		unix.Close(fd)
		runtime.GC()
		runtime.Gosched()
	}
	runtime.GC()
	runtime.GC()
	if _, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0); err != nil {
		t.Fatalf("the rootfs descriptor was closed behind the restore's back: %v", err)
	}
}

// TestApplyWithoutOpenat2 runs the whole capture and apply round trip with
// securejoin's resolver for paths inside the rootfs (saferoot's own walk,
// used for deletions, is tested in pkg/saferoot).
func TestApplyWithoutOpenat2(t *testing.T) {
	withoutOpenat2(t)
	lower, mergedA, ckpt, _ := captureWorkload(t)
	mergedB, _ := mountOverlay(t, lower)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Commit())
	sameListing(t, "A vs B", listing(t, mergedA, notCompared...), listing(t, mergedB, notCompared...))
}

// TestFallbackResolvesALastSymlinkInsideTheRoot: without openat2 too, a
// symlink at the end of a path to an absolute target is the root's, never
// the host's.
func TestFallbackResolvesALastSymlinkInsideTheRoot(t *testing.T) {
	withoutOpenat2(t)
	dir := t.TempDir()
	check(t, os.MkdirAll(dir+"/etc", 0o755))
	check(t, os.Symlink("/etc", dir+"/evil"))
	r, err := openRootDir(dir)
	check(t, err)
	defer r.close()
	for _, flags := range []int{unix.O_PATH | unix.O_DIRECTORY, unix.O_RDONLY | unix.O_DIRECTORY} {
		fd, err := r.openIn("evil", flags)
		check(t, err)
		var got, want unix.Stat_t
		check(t, unix.Fstat(fd, &got))
		unix.Close(fd)
		check(t, unix.Stat(dir+"/etc", &want))
		if got.Ino != want.Ino || got.Dev != want.Dev {
			t.Fatalf("flags %#x: evil -> /etc opened the host's /etc, not the root's", flags)
		}
	}
}
