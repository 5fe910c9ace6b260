package layer

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ApplyOptions tunes Apply (nothing yet).
type ApplyOptions struct{}

// applyEntryHook, when set (tests), runs before entry n (0-based) of the
// archive; an error fails Apply there.
var applyEntryHook func(n int, h *tar.Header) error

// Apply puts a captured writable layer into the mounted rootfs of a new
// container (the merged view), before CRIU restores the processes: it
// extracts inDir/rootfs-diff.tar, then removes every path listed in
// inDir/deleted.files (missing paths are fine), then sets the directories'
// times. Nothing outside rootfs is ever written or removed: names are
// resolved inside the root, never through a final symlink, and entries
// that try to leave it fail with ErrUnsafeEntry. On any failure Apply
// undoes its changes and returns the error; on success the Journal lets
// the caller Rollback (restore failed) or Commit (restore succeeded).
func Apply(ctx context.Context, rootfs, inDir string, opt ApplyOptions) (*Journal, error) {
	f, err := os.Open(filepath.Join(inDir, RootfsDiffTar))
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	defer f.Close()
	deleted, err := readDeleted(filepath.Join(inDir, DeletedFiles))
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	root, err := openRootDir(rootfs)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	a := newApplier(ctx, root, ".arch-layer-backup-"+hex.EncodeToString(rnd[:]))
	defer a.closeDirs()
	err = a.run(f, deleted)
	if werr := a.wait(); err == nil {
		err = werr
	}
	if err != nil {
		if rerr := a.j.Rollback(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("apply layer to %s: %w", rootfs, err)
	}
	return a.j, nil
}

// readDeleted reads deleted.files; a missing file means nothing to delete.
func readDeleted(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var paths []string
	if err := json.Unmarshal(b, &paths); err != nil {
		return nil, fmt.Errorf("parse %s: %w", p, err)
	}
	out := make([]string, 0, len(paths))
	for _, d := range paths {
		rel, err := cleanDeletedPath(d)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

func (a *applier) run(f *os.File, deleted []string) error {
	src, ar, closeSrc, err := openArchive(f)
	if err != nil {
		return err
	}
	defer closeSrc()
	a.arch = ar
	if ar != nil {
		a.pool = newFilePool(ar.fd)
	}
	tr := tar.NewReader(src)
	for n := 0; ; n++ {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if len(a.dirs) > maxCachedDirs {
			a.closeDirs() // between entries no descriptor is in use
		}
		if applyEntryHook != nil {
			if err := applyEntryHook(n, h); err != nil {
				return err
			}
		}
		if err := a.entry(tr, h); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	}
	if err := a.wait(); err != nil {
		return err
	}
	for _, d := range deleted {
		if err := a.ctx.Err(); err != nil {
			return err
		}
		if err := a.remove(d); err != nil {
			return fmt.Errorf("delete %q: %w", d, err)
		}
	}
	return a.finishDirs()
}

// entry applies one archive entry.
func (a *applier) entry(tr *tar.Reader, h *tar.Header) error {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := cleanEntryName(h.Name)
	if err != nil {
		return err
	}
	if err := a.checkOwn(rel); err != nil {
		return err
	}
	m, err := metaFromHeader(h)
	if err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return a.dir(rel, m)
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		if rel == "" {
			return fmt.Errorf("%w: file entry for the root", ErrUnsafeEntry)
		}
		return a.regular(tr, rel, h, m)
	case tar.TypeSymlink:
		if rel == "" {
			return fmt.Errorf("%w: symlink entry for the root", ErrUnsafeEntry)
		}
		return a.symlink(rel, h.Linkname, m)
	case tar.TypeLink:
		if rel == "" {
			return fmt.Errorf("%w: hardlink entry for the root", ErrUnsafeEntry)
		}
		return a.hardlink(rel, h.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if rel == "" {
			return fmt.Errorf("%w: node entry for the root", ErrUnsafeEntry)
		}
		return a.node(rel, h, m)
	}
	return fmt.Errorf("%w: entry type %q not supported", ErrUnsafeEntry, h.Typeflag)
}

// checkOwn rejects names inside Apply's own backup folder.
func (a *applier) checkOwn(rel string) error {
	if rel == a.j.backup || strings.HasPrefix(rel, a.j.backup+"/") {
		return fmt.Errorf("%w: %q is Apply's backup folder", ErrUnsafeEntry, rel)
	}
	return nil
}

// meta is what a header says about an entry's owner, mode and times.
type meta struct {
	uid, gid int
	mode     uint32
	mtime    unix.Timespec
	atime    unix.Timespec
	xattrs   []xattr
}

func metaFromHeader(h *tar.Header) (*meta, error) {
	if h.Uid < 0 || h.Gid < 0 || int64(h.Uid) >= 1<<32-1 || int64(h.Gid) >= 1<<32-1 {
		return nil, fmt.Errorf("%w: owner %d:%d out of range", ErrUnsafeEntry, h.Uid, h.Gid)
	}
	m := &meta{uid: h.Uid, gid: h.Gid, mode: uint32(h.Mode & 07777)}
	m.mtime = unix.NsecToTimespec(h.ModTime.UnixNano())
	if h.ModTime.IsZero() || h.ModTime.Year() < 1678 || h.ModTime.Year() > 2261 {
		m.mtime = unix.Timespec{Sec: max(min(h.ModTime.Unix(), 1<<40), -(1 << 40))}
	}
	m.atime = unix.Timespec{Nsec: unix.UTIME_OMIT}
	if len(h.PAXRecords) > 0 {
		m.xattrs = xattrsFromPAX(h.PAXRecords)
	}
	return m, nil
}
