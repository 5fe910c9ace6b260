package ckpt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Unpack extracts the image into dst with the layout of a staging folder
// (dst/checkpoint/..., dst/dump.log, dst/rootfs-diff.tar, ...; plus
// config.dump and spec.dump), verifying it exactly as Verify does, in a
// single pass over the archive.
//
// dst is created when missing; when it exists it must be a folder (not a
// symlink), and no member may exist in it yet. Only regular files (0600) and
// folders (0700) named in the manifest are created, each relative to a
// folder descriptor opened without following symlinks, so nothing is ever
// written outside dst. On any error everything Unpack created is removed
// (dst too, when Unpack created it). Files are not fsynced: the result is
// for an immediate restore, not for keeping.
func (img *Image) Unpack(ctx context.Context, dst string) (err error) {
	created, err := mkdirDst(dst)
	if err != nil {
		return fmt.Errorf("unpack image %s of %s: %w", img.ID(), img.Key, err)
	}
	err = checkRealDir(dst)
	var root *os.File
	if err == nil {
		root, err = openNoFollow(dst, os.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if err != nil {
		if created {
			os.Remove(dst)
		}
		return fmt.Errorf("unpack image %s of %s: %w", img.ID(), img.Key, err)
	}
	sk := &dirSink{root: root, dirs: map[string]*os.File{}}
	defer func() {
		if err != nil {
			sk.undo()
		}
		sk.close()
		if err != nil && created {
			os.Remove(dst)
		}
	}()
	if err := img.read(ctx, sk); err != nil {
		return fmt.Errorf("unpack image %s of %s: %w", img.ID(), img.Key, err)
	}
	return nil
}

// mkdirDst creates dst (and its parents) when missing and reports whether
// it created dst itself.
func mkdirDst(dst string) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(dst), dirPerm); err != nil {
		return false, err
	}
	err := os.Mkdir(dst, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// dirSink creates members under root with *at system calls.
type dirSink struct {
	root *os.File
	dirs map[string]*os.File // member folder -> its descriptor
	made []made              // what was created, in order
	cur  *os.File            // file being written
}

type made struct {
	parent *os.File
	base   string
	dir    bool
}

// parent returns the descriptor of the folder that holds member name, and
// name's last component.
func (d *dirSink) parent(name string) (*os.File, string, error) {
	base := path.Base(name)
	if base == "." || base == ".." || base == "/" || checkMemberName(name) != nil {
		return nil, "", fmt.Errorf("%w: member %s: unsafe name", ErrCorrupt, echo(name))
	}
	dir := path.Dir(name)
	if dir == "." {
		return d.root, base, nil
	}
	p, ok := d.dirs[dir]
	if !ok {
		return nil, "", fmt.Errorf("%w: member %s: its folder was not extracted before it", ErrCorrupt, name)
	}
	return p, base, nil
}

func (d *dirSink) dir(m *Member) error {
	p, base, err := d.parent(m.Name)
	if err != nil {
		return err
	}
	if err := unix.Mkdirat(int(p.Fd()), base, dirPerm); err != nil {
		return fmt.Errorf("member %s: mkdir: %w", m.Name, err)
	}
	d.made = append(d.made, made{parent: p, base: base, dir: true})
	fd, err := unix.Openat(int(p.Fd()), base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("member %s: open folder: %w", m.Name, err)
	}
	d.dirs[m.Name] = os.NewFile(uintptr(fd), m.Name)
	return nil
}

func (d *dirSink) file(m *Member) (io.Writer, error) {
	p, base, err := d.parent(m.Name)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(p.Fd()), base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, filePerm)
	if err != nil {
		return nil, fmt.Errorf("member %s: create: %w", m.Name, err)
	}
	d.made = append(d.made, made{parent: p, base: base})
	d.cur = os.NewFile(uintptr(fd), m.Name)
	return d.cur, nil
}

func (d *dirSink) fileDone(m *Member) error {
	err := d.cur.Close()
	d.cur = nil
	if err != nil {
		return fmt.Errorf("member %s: close: %w", m.Name, err)
	}
	return nil
}

// undo removes what was created, newest first.
func (d *dirSink) undo() {
	if d.cur != nil {
		d.cur.Close()
		d.cur = nil
	}
	for i := len(d.made) - 1; i >= 0; i-- {
		e := d.made[i]
		flags := 0
		if e.dir {
			flags = unix.AT_REMOVEDIR
		}
		unix.Unlinkat(int(e.parent.Fd()), e.base, flags)
	}
	d.made = nil
}

func (d *dirSink) close() {
	for _, f := range d.dirs {
		f.Close()
	}
	d.root.Close()
}
