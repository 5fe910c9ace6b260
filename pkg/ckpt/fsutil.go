package ckpt

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// errSymlink marks a path that is a symlink where ARCH wants a real file or
// folder; nothing in the store is ever followed.
var errSymlink = errors.New("is a symlink, refusing to follow it")

// errNotRegular marks a store path of the wrong kind or size.
var errNotRegular = errors.New("unexpected kind of file")

// openNoFollow opens path without following a symlink in its last component.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil && errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s %w", path, errSymlink)
	}
	return f, err
}

// openRegular opens an existing regular file for reading, refusing symlinks
// and anything else that is not a regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file (%s): %w", path, st.Mode().Type(), errNotRegular)
	}
	return f, st, nil
}

// readSmallFile reads a regular file of at most max bytes.
func readSmallFile(path string, max int64) ([]byte, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, max %d: %w", path, st.Size(), max, errNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s grew beyond %d bytes: %w", path, max, errNotRegular)
	}
	return data, nil
}

// checkRealDir returns nil when dir is a real folder (not a symlink),
// an error wrapping fs.ErrNotExist when it does not exist.
func checkRealDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s %w", dir, errSymlink)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder (%s): %w", dir, st.Mode().Type(), errNotRegular)
	}
	return nil
}

// ensureKeyDir creates the store root and the key folder when missing.
func (s *Store) ensureKeyDir(dir string) error {
	if err := os.MkdirAll(s.root, dirPerm); err != nil {
		return fmt.Errorf("create checkpoint store: %w", err)
	}
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create key folder: %w", err)
	}
	return checkRealDir(dir)
}

// removeFile removes name in dir, ignoring a file that is already gone.
func removeFile(dir, name string) error {
	err := os.Remove(filepath.Join(dir, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
