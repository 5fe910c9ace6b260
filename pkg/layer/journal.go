package layer

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrJournalClosed is returned by Rollback or Commit on a journal that was
// already committed or rolled back.
var ErrJournalClosed = errors.New("journal already committed or rolled back")

// Journal records what Apply changed in a rootfs, oldest first, so that
// Rollback can undo exactly that (newest first) and Commit can drop the
// backups once the restore succeeded. Originals that Apply replaced or
// deleted wait in a hidden folder at the top of the rootfs until then.
// A Journal holds a descriptor on the rootfs until Commit or Rollback.
type Journal struct {
	root      *rootDir
	ops       []jop
	backup    string // name of the backup folder in the root
	backupFd  int    // O_PATH handle on it, -1 until created
	backupN   int
	finalRoot *[2]unix.Timespec // root times after Apply, re-set by Commit
	closed    bool
}

type jopKind uint8

const (
	opCreated jopKind = iota // rel did not exist: remove it
	opMoved                  // the original of rel waits in backup/<name>
	opTimes                  // rel is a directory whose times changed
	opMeta                   // rel is a directory whose metadata changed
)

type jop struct {
	kind jopKind
	rel  string
	name string   // backup entry (opMoved)
	meta *dirMeta // opTimes, opMeta
}

// dirMeta is a directory's metadata as it was before Apply.
type dirMeta struct {
	mode         uint32
	uid, gid     uint32
	atime, mtime unix.Timespec
	xattrs       []xattr // only for opMeta
}

func newJournal(root *rootDir, backupName string) *Journal {
	return &Journal{root: root, backup: backupName, backupFd: -1}
}

func (j *Journal) add(op jop) { j.ops = append(j.ops, op) }

// backupDir returns the backup folder, creating it on first use.
func (j *Journal) backupDir(a *applier) (int, error) {
	if j.backupFd >= 0 {
		return j.backupFd, nil
	}
	if err := a.touch("", j.root.fd); err != nil {
		return -1, err
	}
	if err := unix.Mkdirat(j.root.fd, j.backup, 0o700); err != nil {
		return -1, fmt.Errorf("create backup folder: %w", err)
	}
	j.add(jop{kind: opCreated, rel: j.backup})
	fd, err := unix.Openat(j.root.fd, j.backup, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open backup folder: %w", err)
	}
	j.backupFd = fd
	return fd, nil
}

// nextName returns a fresh name inside the backup folder.
func (j *Journal) nextName() string {
	j.backupN++
	return strconv.Itoa(j.backupN)
}

// Rollback undoes everything Apply did, newest first: it removes what was
// created, puts back what was replaced or deleted, and restores the
// metadata of the directories it touched. It goes on past failures and
// returns them all.
func (j *Journal) Rollback() error {
	if j == nil || j.closed {
		return ErrJournalClosed
	}
	j.closed = true
	defer j.release()
	var errs []error
	for i := len(j.ops) - 1; i >= 0; i-- {
		if err := j.undo(j.ops[i]); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", j.ops[i].rel, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// Commit keeps what Apply wrote and removes the originals it kept aside.
func (j *Journal) Commit() error {
	if j == nil || j.closed {
		return ErrJournalClosed
	}
	j.closed = true
	defer j.release()
	if j.backupFd < 0 {
		return nil
	}
	if err := removeAllAt(j.root.fd, j.backup); err != nil {
		return fmt.Errorf("commit: remove backups: %w", err)
	}
	if j.finalRoot != nil {
		if err := unix.UtimesNanoAt(j.root.fd, ".", j.finalRoot[:], 0); err != nil {
			return fmt.Errorf("commit: root times: %w", err)
		}
	}
	return nil
}

func (j *Journal) release() {
	if j.backupFd >= 0 {
		unix.Close(j.backupFd)
		j.backupFd = -1
	}
	j.root.close()
}

func (j *Journal) undo(op jop) error {
	switch op.kind {
	case opCreated:
		return j.removeIn(op.rel)
	case opMoved:
		if err := j.removeIn(op.rel); err != nil {
			return err
		}
		pfd, name, err := j.parentOf(op.rel)
		if err != nil {
			return err
		}
		defer unix.Close(pfd)
		if err := unix.Renameat(j.backupFd, op.name, pfd, name); err != nil {
			return fmt.Errorf("put back original: %w", err)
		}
		return nil
	case opTimes, opMeta:
		fd, err := j.root.openIn(op.rel, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return op.meta.restore(fd, op.kind == opMeta)
	}
	return nil
}

// parentOf opens the parent of rel the way Apply resolved it.
func (j *Journal) parentOf(rel string) (int, string, error) {
	dir, name := splitRel(rel)
	fd, err := j.root.openIn(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, "", err
	}
	return fd, name, nil
}

func (j *Journal) removeIn(rel string) error {
	pfd, name, err := j.parentOf(rel)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	return removeAllAt(pfd, name)
}

// readDirMeta reads the metadata of the directory open as fd; with
// full it also reads its extended attributes.
func readDirMeta(fd int, full bool) (*dirMeta, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	m := &dirMeta{mode: st.Mode & 07777, uid: st.Uid, gid: st.Gid, atime: st.Atim, mtime: st.Mtim}
	if full {
		var xr xattrReader
		xs, err := xr.list(procPath(fd, "."))
		if err != nil {
			return nil, err
		}
		for _, x := range xs {
			if keepXattr(x.Name) {
				m.xattrs = append(m.xattrs, x)
			}
		}
	}
	return m, nil
}

// restore puts the recorded metadata back on the directory open as fd.
func (m *dirMeta) restore(fd int, full bool) error {
	if full {
		if err := unix.Fchown(fd, int(m.uid), int(m.gid)); err != nil {
			return err
		}
		if err := unix.Fchmod(fd, m.mode); err != nil {
			return err
		}
		if err := syncXattrs(fd, m.xattrs); err != nil {
			return err
		}
	}
	return futimens(fd, m.atime, m.mtime)
}
