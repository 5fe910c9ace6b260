package layer

import (
	"archive/tar"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// create runs mk (which makes name in pfd) in the parent of rel; when
// something is already there it moves that aside once and tries again.
func (a *applier) create(rel string, mk func(pfd int, name string) error) (int, string, error) {
	for attempt := 0; ; attempt++ {
		pfd, name, err := a.parent(rel)
		if err != nil {
			return -1, "", err
		}
		dir, _ := splitRel(rel)
		if err := a.touch(dir, pfd); err != nil {
			return -1, "", err
		}
		err = mk(pfd, name)
		if err == unix.EEXIST && attempt == 0 {
			if err := a.moveAside(pfd, rel, name); err != nil {
				return -1, "", err
			}
			continue
		}
		if err != nil {
			return -1, "", err
		}
		return pfd, name, nil
	}
}

// dir creates or updates a directory; its times are set at the end.
func (a *applier) dir(rel string, m *meta) error {
	var fd int
	if rel == "" {
		var err error
		if fd, err = a.root.openIn("", unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
			return err
		}
	} else {
		var err error
		fd, err = a.existingDir(rel)
		if err != nil {
			return err
		}
		if fd < 0 {
			pfd, name, err := a.create(rel, func(pfd int, name string) error {
				return unix.Mkdirat(pfd, name, 0o700)
			})
			if err != nil {
				return fmt.Errorf("mkdir: %w", err)
			}
			a.created(rel, true)
			if fd, err = unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
				return err
			}
		}
	}
	defer unix.Close(fd)
	if !a.ours[rel] && !a.metaSeen[rel] {
		old, err := readDirMeta(fd, true)
		if err != nil {
			return fmt.Errorf("read metadata: %w", err)
		}
		a.j.add(jop{kind: opMeta, rel: rel, meta: old})
		a.metaSeen[rel] = true
	}
	if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, m.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := syncXattrs(fd, m.xattrs); err != nil {
		return err
	}
	a.deferTimes(rel, m.mtime)
	return nil
}

// existingDir opens rel if it is a real directory now (not through a
// final symlink); -1 when it does not exist or is something else, which
// create then moves aside.
func (a *applier) existingDir(rel string) (int, error) {
	pfd, name, err := a.parent(rel)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch err {
	case nil:
		return fd, nil
	case unix.ENOENT, unix.ENOTDIR, unix.ELOOP:
		return -1, nil
	}
	return -1, fmt.Errorf("open %q: %w", rel, err)
}

// regular creates a file and writes its content. Plain files of an
// uncompressed archive go to the worker pool; the rest is written here.
func (a *applier) regular(tr *tar.Reader, rel string, h *tar.Header, m *meta) error {
	var fd int
	_, _, err := a.create(rel, func(pfd int, name string) error {
		var err error
		fd, err = unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	a.created(rel, false)
	if a.arch != nil && sparseKindOf(h) == notSparse {
		off := a.arch.off
		if h.Size < 0 || off+h.Size > a.arch.size {
			unix.Close(fd)
			return fmt.Errorf("archive truncated in %q", h.Name)
		}
		return a.pool.submit(fileJob{fd: fd, off: off, size: h.Size, m: m})
	}
	defer unix.Close(fd)
	if err := a.content(tr, h, fd); err != nil {
		return err
	}
	return finishFile(fd, m)
}

// finishFile sets owner, mode (after the owner: chown clears setuid),
// attributes and times of a file whose content is written.
func finishFile(fd int, m *meta) error {
	if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Fchmod(fd, m.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := setXattrsFd(fd, m.xattrs); err != nil {
		return err
	}
	return futimens(fd, m.atime, m.mtime)
}

// content writes the data of an entry the pool does not take: sparse
// entries (regions copied from the archive file when their map can be
// read back, else expanded through archive/tar with zero blocks skipped
// so that holes stay holes) and entries of compressed archives.
func (a *applier) content(tr *tar.Reader, h *tar.Header, fd int) error {
	kind := sparseKindOf(h)
	if a.arch != nil && kind != notSparse {
		if exts, ok := a.arch.sparseExtents(h, kind); ok {
			return a.writeSparse(fd, exts, h.Size)
		}
	}
	if a.buf == nil {
		a.buf = make([]byte, 1<<20)
	}
	if kind != notSparse {
		if h.Size > maxExpandedSparse {
			return fmt.Errorf("%w: sparse file of %d bytes in a form that must be expanded", ErrUnsafeEntry, h.Size)
		}
		hw := &holeWriter{fd: fd}
		if _, err := io.CopyBuffer(hw, tr, a.buf); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return hw.finish()
	}
	if _, err := io.CopyBuffer(fdWriter(fd), tr, a.buf); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// maxExpandedSparse bounds sparse files whose holes Apply has to read as
// zeros (compressed archives, old GNU sparse headers): a crafted header
// must not keep it busy for hours.
const maxExpandedSparse = 16 << 30

type fdWriter int

func (w fdWriter) Write(p []byte) (int, error) {
	if err := writeAll(int(w), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// symlink creates a symlink; its target is stored as is (the container
// resolves it inside its root, and Apply never follows it).
func (a *applier) symlink(rel, target string, m *meta) error {
	pfd, name, err := a.create(rel, func(pfd int, name string) error {
		return unix.Symlinkat(target, pfd, name)
	})
	if err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	a.created(rel, false)
	return a.nodeMeta(pfd, name, m, false)
}

// hardlink links rel to a regular file already inside the root.
func (a *applier) hardlink(rel, linkname string) error {
	trel, err := cleanEntryName(linkname)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	if trel == "" {
		return fmt.Errorf("%w: hardlink to the root", ErrUnsafeEntry)
	}
	if err := a.checkOwn(trel); err != nil {
		return err
	}
	_, _, err = a.create(rel, func(pfd int, name string) error {
		tdir, tname := splitRel(trel)
		tfd, err := a.dirFd(tdir, false)
		if err != nil {
			return fmt.Errorf("%w: hardlink target %q: %v", ErrUnsafeEntry, linkname, err)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(tfd, tname, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return fmt.Errorf("%w: hardlink target %q is not a regular file in the root", ErrUnsafeEntry, linkname)
		}
		return unix.Linkat(tfd, tname, pfd, name, 0)
	})
	if err != nil {
		return fmt.Errorf("hardlink: %w", err)
	}
	a.created(rel, false)
	return nil
}

// node creates a character or block device or a fifo, as the header says.
func (a *applier) node(rel string, h *tar.Header, m *meta) error {
	var typ uint32
	switch h.Typeflag {
	case tar.TypeChar:
		typ = unix.S_IFCHR
	case tar.TypeBlock:
		typ = unix.S_IFBLK
	default:
		typ = unix.S_IFIFO
	}
	if h.Devmajor < 0 || h.Devminor < 0 || h.Devmajor > 1<<12-1 || h.Devminor > 1<<20-1 {
		return fmt.Errorf("%w: device %d:%d out of range", ErrUnsafeEntry, h.Devmajor, h.Devminor)
	}
	dev := int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor)))
	pfd, name, err := a.create(rel, func(pfd int, name string) error {
		return unix.Mknodat(pfd, name, typ|0o600, dev)
	})
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	a.created(rel, false)
	return a.nodeMeta(pfd, name, m, true)
}

// nodeMeta sets owner, mode (not for symlinks), attributes and times on
// name in pfd without following it.
func (a *applier) nodeMeta(pfd int, name string, m *meta, chmod bool) error {
	if err := unix.Fchownat(pfd, name, m.uid, m.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if chmod {
		if err := chmodAt(pfd, name, m.mode); err != nil {
			return err
		}
	}
	if err := setXattrsAt(pfd, name, m.xattrs); err != nil {
		return err
	}
	ts := []unix.Timespec{m.atime, m.mtime}
	if err := unix.UtimesNanoAt(pfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}
