package layer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
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

// openIn opens rel below the root with the kernel resolving every
// component inside it: symlinks, absolute or relative, are followed as if
// the root were "/", and ".." stops at the root (RESOLVE_IN_ROOT). flags
// apply to the final component (pass O_NOFOLLOW to not follow it).
func (r *rootDir) openIn(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
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
			return r.openInFallback(rel, flags)
		default:
			return -1, err
		}
	}
}

// openInFallback resolves with filepath-securejoin's userspace emulation
// when the kernel has no openat2 (before Linux 5.6).
func (r *rootDir) openInFallback(rel string, flags int) (int, error) {
	rootF := os.NewFile(uintptr(r.fd), r.path) // borrowed: never closed here
	dir, base := path.Split(rel)
	h, err := pathrs.OpenatInRoot(rootF, "/"+dir)
	if err != nil {
		return -1, err
	}
	defer h.Close()
	if base == "" || base == "." {
		return unix.Openat(int(h.Fd()), ".", flags|unix.O_CLOEXEC, 0)
	}
	return unix.Openat(int(h.Fd()), base, flags|unix.O_CLOEXEC, 0)
}

// openNoSymlinks opens the directory rel below the root refusing any
// symlink on the way, the last component included (ELOOP), and any "..":
// for deletions, whose paths never legitimately cross one.
func (r *rootDir) openNoSymlinks(rel string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	if rel == "" {
		rel = "."
	}
	for i := 0; ; i++ {
		fd, err := unix.Openat2(r.fd, rel, how)
		if err == unix.EAGAIN && i < 16 {
			continue
		}
		if err != unix.ENOSYS {
			return fd, err
		}
		break
	}
	// No openat2: walk one component at a time, checking each.
	cur, err := unix.Openat(r.fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, p := range strings.Split(rel, "/") {
		if p == "." {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(cur, p, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			unix.Close(cur)
			return -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			unix.Close(cur)
			return -1, unix.ELOOP
		}
		next, err := unix.Openat(cur, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
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
