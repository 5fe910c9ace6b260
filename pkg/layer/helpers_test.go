package layer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireRoot skips tests that need root (mounts, chown, mknod).
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// mountOverlay mounts a fresh overlay over the given lower layers (top-most
// first) and returns its merged view and upperdir; it is unmounted when
// the test ends.
func mountOverlay(t testing.TB, lower ...string) (merged, upper string) {
	t.Helper()
	requireRoot(t)
	base := t.TempDir()
	merged, upper, work := filepath.Join(base, "merged"), filepath.Join(base, "upper"), filepath.Join(base, "work")
	for _, d := range []string{merged, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lower, ":"), upper, work)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount overlay: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	return merged, upper
}

var fixedTime = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// writeTree creates files (content), dirs (trailing "/") and symlinks
// ("-> target") under root, all with fixedTime.
func writeTree(t testing.TB, root string, spec map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(root, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		v := spec[k]
		switch {
		case strings.HasSuffix(k, "/"):
			err := os.MkdirAll(p, 0o755)
			check(t, err)
		case strings.HasPrefix(v, "-> "):
			check(t, os.Symlink(v[3:], p))
		default:
			check(t, os.WriteFile(p, []byte(v), 0o644))
		}
	}
	// times last, deepest first, so that directories keep theirs
	var all []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		all = append(all, p)
		return err
	})
	for i := len(all) - 1; i >= 0; i-- {
		ts := []unix.Timespec{unix.NsecToTimespec(fixedTime.UnixNano()), unix.NsecToTimespec(fixedTime.UnixNano())}
		check(t, unix.UtimesNanoAt(unix.AT_FDCWD, all[i], ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listing describes every path under root, one line each, sorted: type,
// mode, owner, mtime, size and sha256 of content, symlink target, device
// numbers, extended attributes and hardlink group. skip leaves paths (and
// what is below them) out.
func listing(t testing.TB, root string, skip ...string) []string {
	t.Helper()
	var out []string
	groups := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s type=%o mode=%04o uid=%d gid=%d mtime=%d", rel, st.Mode&unix.S_IFMT, st.Mode&07777,
			st.Uid, st.Gid, st.Mtim.Nano())
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			line += fmt.Sprintf(" size=%d sha256=%s", st.Size, fileHash(t, p))
			if st.Nlink > 1 {
				if g, ok := groups[st.Ino]; ok {
					line += " linkgroup=" + g
				} else {
					groups[st.Ino] = rel
					line += " linkgroup=" + rel
				}
			}
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			line += " target=" + target
		case unix.S_IFCHR, unix.S_IFBLK:
			line += fmt.Sprintf(" dev=%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		var xr xattrReader
		xs, err := xr.list(p)
		if err != nil {
			return err
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i].Name < xs[j].Name })
		for _, x := range xs {
			line += fmt.Sprintf(" xattr:%s=%x", x.Name, x.Value)
		}
		out = append(out, line)
		return nil
	})
	check(t, err)
	return out
}

// fileHash fingerprints a file's content independently of its holes:
// the offsets and bytes of its non-zero 4 KiB blocks (with the size, which
// the listing has, that is the whole content).
func fileHash(t testing.TB, p string) string {
	f, err := os.Open(p)
	check(t, err)
	defer f.Close()
	fi, err := f.Stat()
	check(t, err)
	fd := int(f.Fd())
	h := sha256.New()
	buf := make([]byte, 4096)
	for off := int64(0); off < fi.Size(); {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		check(t, err)
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		check(t, err)
		for b := start &^ 4095; b < end; b += 4096 {
			n, err := f.ReadAt(buf, b)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !isZero(buf[:n]) {
				fmt.Fprintf(h, "%d:", b)
				h.Write(buf[:n])
			}
		}
		off = end
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// sameListing fails the test with a diff when two listings differ.
func sameListing(t testing.TB, what string, want, got []string) {
	t.Helper()
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	var diff []string
	for _, l := range want {
		if !g[l] {
			diff = append(diff, "- "+l)
		}
	}
	for _, l := range got {
		if !w[l] {
			diff = append(diff, "+ "+l)
		}
	}
	if len(diff) > 0 {
		sort.Slice(diff, func(i, j int) bool { return diff[i][2:] < diff[j][2:] })
		t.Fatalf("%s: listings differ (- want, + got):\n%s", what, strings.Join(diff, "\n"))
	}
}

// allocated returns a file's allocated bytes.
func allocated(t testing.TB, p string) int64 {
	var st syscall.Stat_t
	check(t, syscall.Stat(p, &st))
	return st.Blocks * 512
}
