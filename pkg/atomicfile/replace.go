package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Replace atomically replaces the file at path, described by old (its
// os.Stat), with data, keeping its permission bits and, where allowed, its
// owner (a caller that may not chown, or whose id mapping lacks the owner,
// keeps its own ownership: the best it can do).
func Replace(path string, data []byte, old os.FileInfo) error {
	return Write(path, old.Mode().Perm(), func(w io.Writer) error {
		if f, ok := w.(*os.File); ok {
			if err := ChownLike(f, old); err != nil {
				return err
			}
		}
		_, err := w.Write(data)
		return err
	})
}

// ChownLike gives f the owner of the file old describes, where allowed
// (EPERM and unmapped ids are not errors).
func ChownLike(f *os.File, old os.FileInfo) error {
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid() {
		return nil
	}
	err := f.Chown(int(st.Uid), int(st.Gid))
	if err != nil && !errors.Is(err, os.ErrPermission) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("chown to %d:%d: %w", st.Uid, st.Gid, err)
	}
	return nil
}
