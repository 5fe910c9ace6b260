package saferoot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// IntermediatePerm is the mode of the folders MkdirAll creates on the way
// to the one asked for: anyone may pass through (a container's runc in a
// user namespace reaching its bind-mount source), nobody else may list them.
const IntermediatePerm = 0o711

// Dir is an open folder. Everything below it is reached relative to its
// descriptor, never by path: a folder renamed or replaced after it was
// opened does not redirect what ARCH does through its Dir.
type Dir struct {
	f    *os.File // O_RDONLY|O_DIRECTORY: for getdents and fsync too
	path string   // for messages only
}

// OpenTrusted opens a folder whose whole path the node operator chose
// (arch.conf, a command-line flag), following symlinks in it as the
// operator's system does: a root is where resolution starts, not part of it.
func OpenTrusted(p string) (*Dir, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &Dir{f: f, path: path.Clean(p)}, nil
}

func (d *Dir) fd() int { return int(d.f.Fd()) }

// Path is the folder's path, for messages.
func (d *Dir) Path() string { return d.path }

// Join is the path of name in d, for messages.
func (d *Dir) Join(name string) string { return path.Join(d.path, name) }

// Close releases the folder.
func (d *Dir) Close() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

// OpenDir opens the existing folder rel below d.
func (d *Dir) OpenDir(rel string) (*Dir, error) {
	fd, err := OpenBeneath(d.fd(), rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", d.Join(rel), err)
	}
	return &Dir{f: os.NewFile(uintptr(fd), d.Join(rel)), path: d.Join(rel)}, nil
}

// Mkdir creates the single folder name in d; created is false when it
// existed already (as a folder: anything else is an error wrapping
// ErrUnsafe).
func (d *Dir) Mkdir(name string, perm os.FileMode) (created bool, err error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	err = unix.Mkdirat(d.fd(), name, uint32(perm.Perm()))
	switch {
	case err == nil:
		return true, nil
	case err != unix.EEXIST:
		return false, fmt.Errorf("create folder %s: %w", d.Join(name), err)
	}
	st, err := d.Lstat(name)
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, fmt.Errorf("%w: %s %s", ErrUnsafe, d.Join(name), notAFolder(st))
	}
	return false, nil
}

// notAFolder says what st is instead of a folder.
func notAFolder(st fs.FileInfo) string {
	if st.Mode()&fs.ModeSymlink != 0 {
		return "is a symlink (ARCH never follows one here)"
	}
	return fmt.Sprintf("is not a folder (%s)", st.Mode().Type())
}

func (d *Dir) mkdirOpen(name string, perm os.FileMode) (*Dir, error) {
	if _, err := d.Mkdir(name, perm); err != nil {
		return nil, err
	}
	return d.OpenDir(name)
}

// OpenFile opens rel below d like os.OpenFile, never through a symlink.
func (d *Dir) OpenFile(rel string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := OpenBeneath(d.fd(), rel, flag, uint32(perm.Perm()))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Join(rel), err)
	}
	return os.NewFile(uintptr(fd), d.Join(rel)), nil
}

// Lstat describes the single entry name of d without following it.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	// An O_PATH descriptor of the entry itself (of the link, for a
	// symlink): its os.FileInfo works with os.SameFile.
	fd, err := unix.Openat(d.fd(), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: d.Join(name), Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return f.Stat()
}

// Stat describes d itself.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.f.Stat() }

// Remove removes the single entry name of d (not a folder); a missing one
// is not an error.
func (d *Dir) Remove(name string) error { return d.unlink(name, 0) }

// RemoveDir removes the empty folder name of d; a missing one is not an error.
func (d *Dir) RemoveDir(name string) error { return d.unlink(name, unix.AT_REMOVEDIR) }

func (d *Dir) unlink(name string, flags int) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := unix.Unlinkat(d.fd(), name, flags)
	if err != nil && err != unix.ENOENT {
		return &fs.PathError{Op: "remove", Path: d.Join(name), Err: err}
	}
	return nil
}

// Rename renames the entry oldName of d to newName in d, replacing it.
func (d *Dir) Rename(oldName, newName string) error {
	if err := errors.Join(checkName(oldName), checkName(newName)); err != nil {
		return err
	}
	if err := unix.Renameat(d.fd(), oldName, d.fd(), newName); err != nil {
		return &os.LinkError{Op: "rename", Old: d.Join(oldName), New: d.Join(newName), Err: err}
	}
	return nil
}

// ReadDir lists d's entries sorted by name, "." and ".." left out. An
// entry's Info is valid while d is open.
func (d *Dir) ReadDir() ([]fs.DirEntry, error) {
	// A fresh descriptor: d's own offset must not move.
	fd, err := unix.Openat(d.fd(), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("read folder %s: %w", d.path, err)
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("read folder %s: %w", d.path, err)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for i, e := range ents {
		ents[i] = dirEntry{e, d}
	}
	return ents, nil
}

// dirEntry describes itself relative to its folder's descriptor (os's own
// entries lstat a path). Info is valid while the folder is open.
type dirEntry struct {
	fs.DirEntry
	d *Dir
}

func (e dirEntry) Info() (fs.FileInfo, error) { return e.d.Lstat(e.Name()) }

// Sync makes the creates, renames and removals in d durable.
func (d *Dir) Sync() error {
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("fsync folder %s: %w", d.path, err)
	}
	return nil
}

// SameAs reports whether the entry name of d is still the folder open as
// other (a lock file's folder may have been removed and created again).
func (d *Dir) SameAs(name string, other *Dir) bool {
	a, err := d.Lstat(name)
	if err != nil {
		return false
	}
	b, err := other.Stat()
	return err == nil && os.SameFile(a, b)
}

// checkName accepts a single path component.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: %q is not a single file name", ErrUnsafe, name)
	}
	return nil
}
