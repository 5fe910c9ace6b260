//go:build unix

package specpatch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// owner returns the uid and gid of a file.
func owner(st os.FileInfo) (uid, gid int, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(sys.Uid), int(sys.Gid), true
}

// chown gives the temp file w (an *os.File from atomicfile) the old file's
// owner before it is renamed into place. A caller not allowed to chown keeps
// its own ownership: that is the best it can do.
func chown(w io.Writer, uid, gid int) error {
	f, ok := w.(interface {
		Stat() (os.FileInfo, error)
		Chown(uid, gid int) error
	})
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat temp file: %w", err)
	}
	if u, g, ok := owner(st); ok && u == uid && g == gid {
		return nil
	}
	// EPERM: not privileged; EINVAL: the id is not mapped in our user namespace.
	err = f.Chown(uid, gid)
	if err != nil && !errors.Is(err, os.ErrPermission) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("chown temp file to %d:%d: %w", uid, gid, err)
	}
	return nil
}
