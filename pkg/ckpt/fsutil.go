package ckpt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// errNotRegular marks a store path of the wrong kind or size.
var errNotRegular = errors.New("unexpected kind of file")

// openNoFollow opens path (a node-local staging path) without following a
// symlink in its last component.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil && errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symlink", saferoot.ErrUnsafe, path)
	}
	return f, err
}

// checkRegular returns f's description when it is a regular file, and
// closes f and fails otherwise.
func checkRegular(f *os.File) (os.FileInfo, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s): %w", f.Name(), st.Mode().Type(), errNotRegular)
	}
	return st, nil
}

// openRegular opens an existing regular file of staging for reading,
// refusing symlinks and anything else that is not a regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := checkRegular(f)
	return f, st, err
}

// openRegularIn opens the existing regular file name of the store folder
// d for reading, never through a symlink, and refuses anything else.
func openRegularIn(d *saferoot.Dir, name string) (*os.File, os.FileInfo, error) {
	// O_NONBLOCK: a FIFO in the store's place must not block the caller
	// (runc create, a drain) before it is refused; reads of a regular
	// file ignore the flag.
	f, err := d.OpenFile(name, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := checkRegular(f)
	return f, st, err
}

// readSmallFile reads the regular file name of d, of at most max bytes.
func readSmallFile(d *saferoot.Dir, name string, max int64) ([]byte, error) {
	f, st, err := openRegularIn(d, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, max %d: %w", d.Join(name), st.Size(), max, errNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.Join(name), err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s grew beyond %d bytes: %w", d.Join(name), max, errNotRegular)
	}
	return data, nil
}

// checkRealDir returns nil when dir (a node-local staging path) is a real
// folder (not a symlink), an error wrapping fs.ErrNotExist when it does not
// exist.
func checkRealDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s is a symlink", saferoot.ErrUnsafe, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder (%s): %w", dir, st.Mode().Type(), errNotRegular)
	}
	return nil
}
