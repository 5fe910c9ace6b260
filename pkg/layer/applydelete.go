package layer

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// remove deletes one deleted.files path (already cleaned, relative) by
// moving it into the backup folder. Its parents must be real directories:
// a path through a symlink is refused (ErrUnsafeEntry), since the
// container's deletions never cross one; a missing path is fine.
func (a *applier) remove(rel string) error {
	if err := a.checkOwn(rel); err != nil {
		return err
	}
	dir, name := splitRel(rel)
	pfd, err := a.root.openNoSymlinks(dir, unix.O_PATH|unix.O_DIRECTORY)
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%w: path goes through a symlink", ErrUnsafeEntry)
	default:
		return fmt.Errorf("resolve parent: %w", err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
		return nil
	} else if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	return a.moveAside(pfd, rel, name)
}
