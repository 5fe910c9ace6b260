package layer

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// sparseTree is a folder with a 64 MiB sparse file, a file with xattrs and
// a symlink: what the archives of other tools are made of below.
func sparseTree(t *testing.T) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"etc/conf": "x", "link": "-> etc/conf"})
	f, err := os.Create(filepath.Join(dir, "sparse"))
	check(t, err)
	check(t, f.Truncate(64<<20))
	for _, off := range []int64{1 << 20, 40 << 20} {
		_, err := f.WriteAt([]byte("some data"), off)
		check(t, err)
	}
	check(t, f.Close())
	check(t, unix.Setxattr(filepath.Join(dir, "etc/conf"), "user.k", []byte("v"), 0))
	return dir
}

func TestApplyReadsWhatOtherToolsWrite(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no GNU tar")
	}
	src := sparseTree(t)
	compress := func(t *testing.T, p string, w func(io.Writer) io.WriteCloser) {
		b, err := os.ReadFile(p)
		check(t, err)
		f, err := os.Create(p)
		check(t, err)
		zw := w(f)
		_, err = zw.Write(b)
		check(t, err)
		check(t, zw.Close())
		check(t, f.Close())
	}
	tests := []struct {
		name string
		make func(t *testing.T, out string)
	}{
		{"GNU tar, old GNU sparse headers", func(t *testing.T, out string) {
			gnuTar(t, src, out, "--format=gnu", "-S")
		}},
		{"GNU tar, PAX sparse 0.1", func(t *testing.T, out string) {
			gnuTar(t, src, out, "--format=posix", "-S", "--sparse-version=0.1", "--xattrs")
		}},
		{"GNU tar, PAX sparse 1.0", func(t *testing.T, out string) {
			gnuTar(t, src, out, "--format=posix", "-S", "--sparse-version=1.0", "--xattrs")
		}},
		{"our capture, gzip-compressed", func(t *testing.T, out string) {
			_, err := Capture(context.Background(), &Overlay{Upper: src}, out, CaptureOptions{})
			check(t, err)
			compress(t, filepath.Join(out, RootfsDiffTar), func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
		}},
		{"our capture, zstd-compressed", func(t *testing.T, out string) {
			_, err := Capture(context.Background(), &Overlay{Upper: src}, out, CaptureOptions{})
			check(t, err)
			compress(t, filepath.Join(out, RootfsDiffTar), func(w io.Writer) io.WriteCloser {
				zw, err := zstd.NewWriter(w)
				check(t, err)
				return zw
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := t.TempDir()
			tc.make(t, in)
			root := t.TempDir()
			j, err := Apply(context.Background(), root, in, ApplyOptions{})
			check(t, err)
			check(t, j.Commit())
			for _, p := range []string{"sparse", "etc/conf", "link"} {
				if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
					t.Fatal(err)
				}
			}
			if fileHash(t, filepath.Join(src, "sparse")) != fileHash(t, filepath.Join(root, "sparse")) {
				t.Error("sparse file content differs")
			}
			if fi, _ := os.Stat(filepath.Join(root, "sparse")); fi.Size() != 64<<20 {
				t.Errorf("sparse file size %d", fi.Size())
			}
			if a := allocated(t, filepath.Join(root, "sparse")); a > 1<<20 {
				t.Errorf("sparse file takes %d bytes, want its holes kept", a)
			}
		})
	}
}

func gnuTar(t *testing.T, dir, out string, args ...string) {
	args = append([]string{"-cf", filepath.Join(out, RootfsDiffTar)}, args...)
	args = append(args, "-C", dir, ".")
	if b, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		t.Fatalf("tar %v: %v\n%s", args, err, b)
	}
}
