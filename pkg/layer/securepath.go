package layer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync/atomic"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// ErrUnsafeEntry means an archive entry or a deleted.files path tried to
// reach outside the rootfs (absolute name, ".." component, hardlink to a
// file outside, path through a symlink where none may be) or is otherwise
// not something Apply will write.
var ErrUnsafeEntry = errors.New("unsafe layer entry")

// cleanEntryName checks a tar entry name and returns it relative and
// clean. The root itself ("./", ".") comes back as "".
func cleanEntryName(name string) (string, error) {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: empty or NUL in name %q", ErrUnsafeEntry, name)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute name %q", ErrUnsafeEntry, name)
	}
	if hasDotDot(name) {
		return "", fmt.Errorf("%w: %q has a .. component", ErrUnsafeEntry, name)
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// cleanDeletedPath checks one deleted.files path (absolute container path,
// or relative to the root) and returns it relative and clean. The root
// itself cannot be deleted.
func cleanDeletedPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 || hasDotDot(p) {
		return "", fmt.Errorf("%w: deleted path %q", ErrUnsafeEntry, p)
	}
	c := path.Clean("/" + p)
	if c == "/" {
		return "", fmt.Errorf("%w: deleted path %q is the root", ErrUnsafeEntry, p)
	}
	return c[1:], nil
}

func hasDotDot(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return true
		}
	}
	return false
}

// rootDir is an O_PATH handle on the rootfs that every lookup starts from.
type rootDir struct {
	fd   int
	path string
}

func openRootDir(p string) (*rootDir, error) {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", p, err)
	}
	return &rootDir{fd: fd, path: p}, nil
}

func (r *rootDir) close() {
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// noOpenat2 is set once the kernel said it has no openat2 (ENOSYS), or by
// tests that exercise the fallback.
var noOpenat2 atomic.Bool

// openIn opens rel below the root with the kernel resolving every
// component inside it: symlinks, absolute or relative, are followed as if
// the root were "/", and ".." stops at the root (RESOLVE_IN_ROOT). flags
// apply to the final component (pass O_NOFOLLOW to not follow it).
func (r *rootDir) openIn(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	if noOpenat2.Load() {
		return r.openInFallback(rel, flags)
	}
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(r.fd, rel, how)
		switch {
		case err == nil:
			return fd, nil
		case err == unix.EAGAIN && i < 16:
			continue
		case err == unix.ENOSYS:
			noOpenat2.Store(true)
			return r.openInFallback(rel, flags)
		default:
			return -1, err
		}
	}
}

// openInFallback resolves with filepath-securejoin's userspace emulation
// when the kernel has no openat2 (before Linux 5.6). securejoin wants an
// *os.File of the root: it gets a duplicate of the root's descriptor, closed
// here, since an *os.File owns its descriptor (its finalizer would close
// the root's own under a restore still using it).
func (r *rootDir) openInFallback(rel string, flags int) (int, error) {
	dup, err := unix.FcntlInt(uintptr(r.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	rootF := os.NewFile(uintptr(dup), r.path)
	defer rootF.Close()
	if flags&unix.O_NOFOLLOW != 0 {
		// The last component is not followed: resolve its folder inside
		// the root, and open it relative to that.
		dir, base := path.Split(rel)
		h, err := pathrs.OpenatInRoot(rootF, "/"+dir)
		if err != nil {
			return -1, err
		}
		defer h.Close()
		if base == "" || base == "." {
			base = "."
		}
		return unix.Openat(int(h.Fd()), base, flags|unix.O_CLOEXEC, 0)
	}
	// Every component, the last included, is resolved inside the root (a
	// symlink at the end to /etc is the root's /etc, never the host's),
	// then the handle is opened with the caller's flags.
	h, err := pathrs.OpenatInRoot(rootF, "/"+rel)
	if err != nil {
		return -1, err
	}
	defer h.Close()
	if flags&unix.O_PATH != 0 {
		if flags&unix.O_DIRECTORY != 0 {
			var st unix.Stat_t
			if err := unix.Fstat(int(h.Fd()), &st); err != nil {
				return -1, err
			}
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return -1, unix.ENOTDIR
			}
		}
		return unix.FcntlInt(h.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	}
	f, err := pathrs.Reopen(h, flags)
	if err != nil {
		return -1, err
	}
	defer f.Close()
	return unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
}

// openNoSymlinks opens rel below the root refusing any symlink on the way,
// the last component included (ELOOP), and any "..": for deletions, whose
// paths never legitimately cross one.
func (r *rootDir) openNoSymlinks(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	return saferoot.OpenBeneath(r.fd, rel, flags, 0)
}

// splitRel splits a clean relative path into its parent ("" for the root)
// and its final component.
func splitRel(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// procPath names the final component name inside the directory open as
// dirfd, for the few calls (lsetxattr, llistxattr) that only take paths:
// the kernel resolves the directory through the fd, and name is a single
// component that the l* calls do not follow.
func procPath(dirfd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}
