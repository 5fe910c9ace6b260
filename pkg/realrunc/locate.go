// Package realrunc finds and runs the real runc binary that ARCH wraps.
package realrunc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotFound is returned when no real runc can be found.
var ErrNotFound = errors.New("real runc not found")

// Locate returns the real runc: configured when non-empty, else the first
// "runc" in pathEnv that is not the wrapper itself (self, usually
// os.Executable()). A configured path that is missing, not executable or is
// the wrapper is an error: guessing another binary there could run the wrong
// runtime.
func Locate(configured, pathEnv, self string) (string, error) {
	selfID, selfOK := fileID(self)
	if configured != "" {
		if err := checkExecutable(configured); err != nil {
			return "", fmt.Errorf("%w: configured runc %s: %w", ErrNotFound, configured, err)
		}
		if id, ok := fileID(configured); ok && selfOK && id == selfID {
			return "", fmt.Errorf("%w: configured runc %s is arch-wrapper itself", ErrNotFound, configured)
		}
		return configured, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !strings.HasPrefix(dir, "/") {
			continue // relative PATH entries depend on the caller's cwd: never trust them
		}
		cand := filepath.Join(dir, "runc")
		if checkExecutable(cand) != nil {
			continue
		}
		if id, ok := fileID(cand); ok && selfOK && id == selfID {
			continue
		}
		return cand, nil
	}
	return "", fmt.Errorf("%w in PATH %q (set runc = /path/to/runc in the ARCH configuration)", ErrNotFound, pathEnv)
}

type devIno struct{ dev, ino uint64 }

func fileID(p string) (devIno, bool) {
	var st syscall.Stat_t
	if p == "" || syscall.Stat(p, &st) != nil {
		return devIno{}, false
	}
	return devIno{uint64(st.Dev), st.Ino}, true
}

// checkExecutable accepts what execve can run: a regular file this process
// may execute (access(2), as the C fast path's usable() checks: a FIFO or a
// file whose x bits are not ours is skipped in PATH by both).
func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || unix.Access(p, unix.X_OK) != nil {
		return fmt.Errorf("not an executable file")
	}
	return nil
}
