package flock

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Path is a lock file on the host at a path the operator's configuration
// chose (ARCH's state folder): created with its folder, opened without
// following a symlink in its last element.
type Path string

// Open opens (creating) the lock file.
func (p Path) Open() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(string(p)), 0o700); err != nil {
		return nil, fmt.Errorf("create lock folder: %w", err)
	}
	return os.OpenFile(string(p), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
}

// Current reports whether f is still the file at p.
func (p Path) Current(f *os.File) bool {
	fst, err := f.Stat()
	if err != nil {
		return false
	}
	pst, err := os.Lstat(string(p))
	return err == nil && os.SameFile(fst, pst)
}

// Unlink removes the lock file.
func (p Path) Unlink() error { return os.Remove(string(p)) }

// Name is the path.
func (p Path) Name() string { return string(p) }
