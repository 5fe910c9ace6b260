// Package saferoot opens, creates, renames and removes files below a host
// folder that the node operator chose (an allowed root, or one of ARCH's own
// folders), without ever following a symlink below it. Every host path ARCH
// derives from a container's environment (checkpoint stores, key folders,
// archives, manifests, lock files, shared work dirs) is reached this way:
// a tenant who plants a symlink, or swaps a folder for one, makes ARCH's
// call fail; it never redirects it.
//
// Resolution is done by the kernel where it can: openat2(2) with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS (Linux >= 5.6).
// Older kernels get a walk one component at a time from the root's
// descriptor, each component opened with O_NOFOLLOW and checked with
// fstat, which refuses exactly the same paths.
package saferoot

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrUnsafe marks a path that ARCH refuses to use: a symlink or a
// non-folder where ARCH expects its own folder, a ".." or an absolute name.
var ErrUnsafe = errors.New("unsafe host path")

// noOpenat2 is set once the kernel said it has no openat2 (ENOSYS), or by
// tests that exercise the walk.
var noOpenat2 atomic.Bool

// OpenBeneath opens rel (a relative path, one or more components; "." is
// the folder itself) below the folder open as dirfd, refusing any symlink
// on the way, the last component included, any ".." and any absolute name.
// flags apply to the last component (O_CREAT, O_EXCL, O_DIRECTORY,
// O_PATH, ...). A refusal wraps ErrUnsafe and the kernel's errno (ELOOP,
// EXDEV, ENOTDIR); a missing component wraps ENOENT (fs.ErrNotExist).
func OpenBeneath(dirfd int, rel string, flags int, perm uint32) (int, error) {
	if err := checkRel(rel); err != nil {
		return -1, err
	}
	if !noOpenat2.Load() {
		// RESOLVE_NO_SYMLINKS refuses a symlink as the last component too
		// (ELOOP, where O_NOFOLLOW with O_PATH|O_DIRECTORY says ENOTDIR).
		how := &unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Mode:    uint64(perm),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		}
		// The kernel refuses a mode without O_CREAT or O_TMPFILE (whose
		// bits include O_DIRECTORY's, hence the exact comparison).
		if flags&unix.O_CREAT == 0 && flags&unix.O_TMPFILE != unix.O_TMPFILE {
			how.Mode = 0
		}
		for i := 0; ; i++ {
			fd, err := unix.Openat2(dirfd, rel, how)
			switch {
			case err == nil:
				return fd, nil
			case err == unix.EAGAIN && i < 16, err == unix.EINTR:
				continue
			case err == unix.ENOSYS, err == unix.EPERM:
				// EPERM: a seccomp filter that does not know openat2 (older
				// container or systemd profiles). The walk refuses the same
				// paths; a real EPERM comes back from it too.
				noOpenat2.Store(true)
			default:
				return -1, unsafeErr(rel, err)
			}
			break
		}
	}
	return walk(dirfd, rel, flags, perm)
}

// walk is openBeneath without openat2: every folder on the way is opened
// with O_PATH|O_NOFOLLOW relative to the previous one and checked to be a
// folder, so a symlink anywhere fails with ELOOP, a file with ENOTDIR.
func walk(dirfd int, rel string, flags int, perm uint32) (int, error) {
	comps := strings.Split(rel, "/")
	cur, err := unix.Openat(dirfd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer func() {
		if cur >= 0 {
			unix.Close(cur)
		}
	}()
	for _, c := range comps[:len(comps)-1] {
		if c == "." {
			continue
		}
		next, err := openComponent(cur, c, unix.O_PATH, 0)
		if err != nil {
			return -1, unsafeErr(rel, err)
		}
		if err := mustBeDir(next); err != nil {
			unix.Close(next)
			return -1, unsafeErr(rel, err)
		}
		unix.Close(cur)
		cur = next
	}
	fd, err := openComponent(cur, comps[len(comps)-1], flags, perm)
	if err != nil {
		return -1, unsafeErr(rel, err)
	}
	return fd, nil
}

// openComponent opens one component below dirfd without following it. An
// O_PATH open of a symlink would succeed (and refer to the link), and one
// with O_DIRECTORY fails with ENOTDIR: both are refused with ELOOP, as
// openat2's RESOLVE_NO_SYMLINKS does.
func openComponent(dirfd int, name string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOTDIR {
			var st unix.Stat_t
			if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return -1, unix.ELOOP
			}
		}
		if err != nil {
			return -1, err
		}
		if flags&unix.O_PATH != 0 {
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				unix.Close(fd)
				return -1, err
			}
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				unix.Close(fd)
				return -1, unix.ELOOP
			}
		}
		return fd, nil
	}
}

func mustBeDir(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	return nil
}

// checkRel accepts a relative path whose components are not empty and not
// "..": what every caller builds with path.Join from checked parts.
func checkRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.IndexByte(rel, 0) >= 0 {
		return fmt.Errorf("%w: %q is not a relative path", ErrUnsafe, rel)
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == ".." {
			return fmt.Errorf("%w: %q has an empty or \"..\" component", ErrUnsafe, rel)
		}
	}
	return nil
}

// unsafeErr wraps the errors by which the kernel (or the walk) refuses a
// symlink, an escape or a non-folder on the way into ErrUnsafe; others (a
// missing file: fs.ErrNotExist) stay as they are for errors.Is.
func unsafeErr(rel string, err error) error {
	switch err {
	case unix.ELOOP:
		return fmt.Errorf("%w: %s is a symlink or has one on its path (ARCH never follows one here): %w", ErrUnsafe, rel, err)
	case unix.EXDEV:
		return fmt.Errorf("%w: %s: the path leaves its root: %w", ErrUnsafe, rel, err)
	case unix.ENOTDIR:
		return fmt.Errorf("%w: %s: a component is not a folder: %w", ErrUnsafe, rel, err)
	}
	return fmt.Errorf("%s: %w", rel, err)
}
