package layer

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// applier is the state of one Apply: the root, the journal, and caches of
// resolved directories and of what was already journaled.
type applier struct {
	ctx       context.Context
	root      *rootDir
	j         *Journal
	arch      *archReader // nil when the archive is a compressed stream
	pool      *filePool   // with arch: writes plain files' contents
	cp        copier
	buf       []byte
	dirs      map[string]int  // lexical path -> O_PATH fd of the directory it resolves to
	ours      map[string]bool // directories this Apply created
	timesSeen map[string]bool // pre-existing directories whose times are journaled
	metaSeen  map[string]bool // pre-existing directories whose metadata is journaled
	dirTimes  map[string]unix.Timespec
	dirOrder  []string
}

func newApplier(ctx context.Context, root *rootDir, backupName string) *applier {
	return &applier{
		ctx: ctx, root: root, j: newJournal(root, backupName),
		dirs: map[string]int{}, ours: map[string]bool{},
		timesSeen: map[string]bool{}, metaSeen: map[string]bool{},
		dirTimes: map[string]unix.Timespec{},
	}
}

// maxCachedDirs bounds the directory descriptors Apply keeps open; past
// it the cache starts over.
var maxCachedDirs = 4096

func (a *applier) closeDirs() {
	for k, fd := range a.dirs {
		unix.Close(fd)
		delete(a.dirs, k)
	}
}

// parent resolves the directory holding rel, creating missing ones (as
// tar does, mode 0755), and returns it with rel's final component.
func (a *applier) parent(rel string) (int, string, error) {
	dir, name := splitRel(rel)
	fd, err := a.dirFd(dir, true)
	return fd, name, err
}

// dirFd returns an O_PATH descriptor on the directory that the lexical
// path dir resolves to inside the root (symlinks followed as the
// container would, never out of the root).
func (a *applier) dirFd(dir string, create bool) (int, error) {
	if fd, ok := a.dirs[dir]; ok {
		return fd, nil
	}
	fd, err := a.root.openIn(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err == unix.ENOENT && create && dir != "" {
		fd, err = a.mkdirImplicit(dir)
	}
	if err != nil {
		return -1, fmt.Errorf("resolve directory %q: %w", dir, err)
	}
	a.dirs[dir] = fd
	return fd, nil
}

func (a *applier) mkdirImplicit(dir string) (int, error) {
	pfd, name, err := a.parent(dir)
	if err != nil {
		return -1, err
	}
	pdir, _ := splitRel(dir)
	if err := a.touch(pdir, pfd); err != nil {
		return -1, err
	}
	if err := unix.Mkdirat(pfd, name, 0o755); err != nil {
		return -1, err
	}
	a.created(dir, true)
	return unix.Openat(pfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

func (a *applier) created(rel string, isDir bool) {
	a.j.add(jop{kind: opCreated, rel: rel})
	if isDir {
		a.ours[rel] = true
	}
}

// touch journals the times of the pre-existing directory dir (open as
// fd) before Apply first adds or removes something in it.
func (a *applier) touch(dir string, fd int) error {
	if a.ours[dir] || a.timesSeen[dir] {
		return nil
	}
	m, err := readDirMeta(fd, false)
	if err != nil {
		return fmt.Errorf("read times of %q: %w", dir, err)
	}
	a.j.add(jop{kind: opTimes, rel: dir, meta: m})
	a.timesSeen[dir] = true
	return nil
}

// moveAside puts what is at rel (name in pfd) into the backup folder so
// that Rollback can put it back. Directories that overlay cannot rename
// (EXDEV: they come from a lower layer) are copied, then removed.
func (a *applier) moveAside(pfd int, rel, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat existing %q: %w", rel, err)
	}
	dir, _ := splitRel(rel)
	if err := a.touch(dir, pfd); err != nil {
		return err
	}
	bfd, err := a.j.backupDir(a)
	if err != nil {
		return err
	}
	bn := a.j.nextName()
	err = unix.Renameat(pfd, name, bfd, bn)
	if err == unix.EXDEV {
		if err := copyTree(&a.cp, pfd, name, bfd, bn); err != nil {
			return fmt.Errorf("back up %q: %w", rel, err)
		}
		a.j.add(jop{kind: opMoved, rel: rel, name: bn})
		err = removeAllAt(pfd, name)
	} else if err == nil {
		a.j.add(jop{kind: opMoved, rel: rel, name: bn})
	}
	if err != nil {
		return fmt.Errorf("move %q aside: %w", rel, err)
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFDIR || t == unix.S_IFLNK {
		a.invalidate(rel)
	}
	return nil
}

// invalidate forgets what was cached about rel and below, after the
// thing at rel was replaced.
func (a *applier) invalidate(rel string) {
	under := func(k string) bool { return k == rel || strings.HasPrefix(k, rel+"/") }
	for k, fd := range a.dirs {
		if under(k) {
			unix.Close(fd)
			delete(a.dirs, k)
		}
	}
	for _, m := range []map[string]bool{a.ours, a.timesSeen, a.metaSeen} {
		for k := range m {
			if under(k) {
				delete(m, k)
			}
		}
	}
}

// deferTimes remembers a directory's times, set once everything below it
// is in place.
func (a *applier) deferTimes(rel string, mtime unix.Timespec) {
	if _, ok := a.dirTimes[rel]; !ok {
		a.dirOrder = append(a.dirOrder, rel)
	}
	a.dirTimes[rel] = mtime
}

// finishDirs sets the directories' times, and records the root's final
// times for Commit (removing the backup folder changes them).
func (a *applier) finishDirs() error {
	for _, rel := range a.dirOrder {
		fd, err := a.root.openIn(rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err == unix.ENOENT || err == unix.ENOTDIR || err == unix.ELOOP {
			continue // replaced by a later entry
		}
		if err != nil {
			return fmt.Errorf("open directory %q: %w", rel, err)
		}
		err = futimens(fd, unix.Timespec{Nsec: unix.UTIME_OMIT}, a.dirTimes[rel])
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("directory %q: %w", rel, err)
		}
	}
	if a.j.backupFd >= 0 {
		var st unix.Stat_t
		if err := unix.Fstat(a.root.fd, &st); err != nil {
			return fmt.Errorf("stat root: %w", err)
		}
		a.j.finalRoot = &[2]unix.Timespec{st.Atim, st.Mtim}
	}
	return nil
}

// wait waits for the file pool, if any, and returns its first failure.
func (a *applier) wait() error {
	if a.pool == nil {
		return nil
	}
	return a.pool.wait()
}
