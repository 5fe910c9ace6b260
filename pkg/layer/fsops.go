package layer

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futimens sets the times of the open file fd (utimensat with a NULL
// path, which x/sys/unix does not expose).
func futimens(fd int, atime, mtime unix.Timespec) error {
	ts := [2]unix.Timespec{atime, mtime}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("set times: %w", e)
	}
	return nil
}

// removeAllAt removes name in the directory dirfd and, if it is a
// directory, everything below it, never following a symlink.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	names, err := readNamesFd(fd)
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("list %s: %w", name, err)
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			unix.Close(fd)
			return err
		}
	}
	unix.Close(fd)
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// readNamesFd lists the directory open as fd, without closing it.
func readNamesFd(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	return f.Readdirnames(-1)
}

// copyTree copies name in srcDir to dstName in dstDir with contents,
// owners, modes, times and extended attributes: the backup of a directory
// that overlay cannot rename (a lower-layer directory without
// redirect_dir).
func copyTree(cp *copier, srcDir int, name string, dstDir int, dstName string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(srcDir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	var xr xattrReader
	xs, err := xr.list(procPath(srcDir, name))
	if err != nil {
		return err
	}
	mode := st.Mode & 07777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := copyDir(cp, srcDir, name, dstDir, dstName); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(cp, srcDir, name, dstDir, dstName, st.Size); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := readlinkAt(srcDir, name)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, dstDir, dstName); err != nil {
			return fmt.Errorf("copy symlink %s: %w", name, err)
		}
	default: // devices, fifos, sockets
		if err := unix.Mknodat(dstDir, dstName, st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("copy node %s: %w", name, err)
		}
	}
	if err := unix.Fchownat(dstDir, dstName, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("copy owner of %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := chmodAt(dstDir, dstName, mode); err != nil {
			return err
		}
	}
	p := procPath(dstDir, dstName)
	for _, x := range xs {
		if isOverlayXattr(x.Name) {
			continue
		}
		if err := unix.Lsetxattr(p, x.Name, []byte(x.Value), 0); err != nil {
			return fmt.Errorf("copy xattr %s of %s: %w", x.Name, name, err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(dstDir, dstName, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("copy times of %s: %w", name, err)
	}
	return nil
}

func copyDir(cp *copier, srcDir int, name string, dstDir int, dstName string) error {
	if err := unix.Mkdirat(dstDir, dstName, 0o700); err != nil {
		return fmt.Errorf("copy directory %s: %w", name, err)
	}
	sfd, err := unix.Openat(srcDir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(sfd)
	dfd, err := unix.Openat(dstDir, dstName, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open copy of %s: %w", name, err)
	}
	defer unix.Close(dfd)
	names, err := readNamesFd(sfd)
	if err != nil {
		return fmt.Errorf("list %s: %w", name, err)
	}
	for _, n := range names {
		if err := copyTree(cp, sfd, n, dfd, n); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(cp *copier, srcDir int, name string, dstDir int, dstName string, size int64) error {
	in, err := unix.Openat(srcDir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(in)
	out, err := unix.Openat(dstDir, dstName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create copy of %s: %w", name, err)
	}
	defer unix.Close(out)
	exts, sparse, err := dataExtents(in, size)
	if err != nil {
		return err
	}
	if !sparse {
		exts = []extent{{0, size}}
	}
	for _, x := range exts {
		if err := cp.copyAt(out, x.off, in, x.off, x.len); err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
	}
	return unix.Ftruncate(out, size)
}

func readlinkAt(dirfd int, name string) (string, error) {
	for n := 256; ; n *= 2 {
		b := make([]byte, n)
		r, err := unix.Readlinkat(dirfd, name, b)
		if err != nil {
			return "", fmt.Errorf("readlink %s: %w", name, err)
		}
		if r < n {
			return string(b[:r]), nil
		}
	}
}

// chmodAt sets the mode of name in dirfd without following a symlink
// (fchmodat2); kernels without it get fchmodat on what the caller just
// created, which is not a symlink.
func chmodAt(dirfd int, name string, mode uint32) error {
	err := unix.Fchmodat(dirfd, name, mode, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		err = unix.Fchmodat(dirfd, name, mode, 0)
	}
	if err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	return nil
}
