package ckpt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Removal is one thing GC removed, would remove (dry run), or left alone.
type Removal struct {
	Folder  string // key folder name in the store
	Path    string // what is (or would be) removed; an image is named by its manifest.json
	Reason  string
	Size    int64
	Skipped bool  // left alone: busy (locked by someone else) or not ARCH's
	Err     error // the removal failed
}

// GC cleans the store. For every key folder whose lock it can take without
// waiting (a busy key is reported "busy, skipped" and not touched) it
// removes:
//   - the image when its checkpointedAt is older than olderThan (a corrupt
//     manifest counts by its file's modification time); olderThan <= 0
//     removes no image by age;
//   - a manifest whose archive is missing (it can never be restored);
//   - leftovers: .incoming archives (no commit runs while GC holds the
//     lock, so they are dead), archives the manifest does not name, temp
//     files, a restored mark of another image;
//   - the folder itself when nothing else is left in it.
//
// With dryRun nothing is removed and the result says what would be. Errors
// are reported per removal; the error returned joins them.
func (s *Store) GC(ctx context.Context, olderThan time.Duration, dryRun bool) ([]Removal, error) {
	root, err := s.openRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gc: open checkpoint store: %w", err)
	}
	defer root.Close()
	ents, err := root.ReadDir()
	if err != nil {
		return nil, fmt.Errorf("gc: read checkpoint store: %w", err)
	}
	g := gc{s: s, root: root, olderThan: olderThan, dryRun: dryRun, now: s.now()}
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return g.out, err
		}
		g.folder(de.Name())
	}
	var errs []error
	for _, r := range g.out {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Path, r.Err))
		}
	}
	return g.out, errors.Join(errs...)
}

type gc struct {
	s         *Store
	root      *saferoot.Dir
	olderThan time.Duration
	dryRun    bool
	now       time.Time
	out       []Removal
}

func (g *gc) report(r Removal) { g.out = append(g.out, r) }

func (g *gc) folder(folder string) {
	path := g.root.Join(folder)
	skip := func(reason string) {
		g.report(Removal{Folder: folder, Path: path, Reason: reason, Skipped: true})
	}
	if st, err := g.root.Lstat(folder); err != nil || !st.IsDir() {
		what := fmt.Sprint(err)
		if err == nil {
			what = "not a folder (" + st.Mode().Type().String() + ")"
		}
		skip("not a key folder, left alone: " + what)
		return
	}
	key, err := keyFromFolder(folder)
	if err != nil {
		skip("folder name is not an escaped key, left alone")
		return
	}
	l, err := g.s.lock(context.Background(), key, false, false)
	switch {
	case errors.Is(err, ErrBusy):
		skip("busy, skipped")
		return
	case errors.Is(err, fs.ErrNotExist):
		return // removed meanwhile
	case err != nil:
		g.report(Removal{Folder: folder, Path: path, Reason: "lock", Err: err})
		return
	}
	defer l.release()
	dir := l.dir

	gone := map[string]bool{} // removed, or would be in a dry run
	m, err := readManifest(dir, key)
	switch {
	case err == nil:
		if g.expired(m.CheckpointedAt) {
			g.removeImage(folder, dir, m, gone, fmt.Sprintf("image %s checkpointed at %s, older than %s", m.ImageID, m.CheckpointedAt.Format(time.RFC3339), g.olderThan))
			m = nil
		} else if _, err := dir.Lstat(m.Archive.Name); errors.Is(err, fs.ErrNotExist) {
			g.removeImage(folder, dir, m, gone, fmt.Sprintf("image %s: its archive is missing", m.ImageID))
			m = nil
		}
	case errors.Is(err, ErrNoImage):
	case errors.Is(err, ErrCorrupt):
		st, serr := dir.Lstat(manifestFile)
		if serr != nil || !g.expired(st.ModTime()) {
			skip(fmt.Sprintf("corrupt image left alone until it is older than olderThan: %v", err))
			return
		}
		g.removeImage(folder, dir, nil, gone, fmt.Sprintf("corrupt image: %v", err))
	default:
		g.report(Removal{Folder: folder, Path: path, Reason: "read manifest", Err: err})
		return
	}
	lo, err := findLeftovers(dir, m)
	if err != nil {
		g.report(Removal{Folder: folder, Path: path, Reason: "list leftovers", Err: err})
		return
	}
	for _, x := range lo {
		if gone[x.name] {
			continue
		}
		r := Removal{Folder: folder, Path: dir.Join(x.name), Reason: x.reason, Size: x.size}
		if !g.dryRun {
			r.Err = dir.Remove(x.name)
		}
		gone[x.name] = r.Err == nil
		g.report(r)
	}
	if m == nil {
		g.removeIfEmpty(folder, dir, gone)
	}
}

func (g *gc) expired(t time.Time) bool {
	return g.olderThan > 0 && g.now.Sub(t) > g.olderThan
}

// removeImage removes the image of dir (m nil: the manifest is corrupt;
// its archive is then a leftover) and adds what it removed to gone.
func (g *gc) removeImage(folder string, dir *saferoot.Dir, m *Manifest, gone map[string]bool, reason string) {
	r := Removal{Folder: folder, Path: dir.Join(manifestFile), Reason: reason}
	archive := ""
	if m != nil {
		archive, r.Size = m.Archive.Name, m.Archive.Size
	}
	if !g.dryRun {
		r.Err = removeImage(dir, archive)
	}
	if r.Err == nil {
		gone[manifestFile], gone[restoredFile] = true, true
		if archive != "" {
			gone[archive] = true
		}
	}
	g.report(r)
}

// removeIfEmpty removes dir when nothing but its lock file is left in it
// besides what is gone (in a dry run: what would be). The caller holds the
// lock: a waiter on the old lock file notices that it was removed and
// starts over.
func (g *gc) removeIfEmpty(folder string, dir *saferoot.Dir, gone map[string]bool) {
	ents, err := dir.ReadDir()
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.Name() != lockFile && !gone[e.Name()] {
			return
		}
	}
	r := Removal{Folder: folder, Path: dir.Path(), Reason: "empty key folder"}
	if !g.dryRun {
		if err := dir.Remove(lockFile); err != nil {
			r.Err = err
		} else if g.root.SameAs(folder, dir) {
			r.Err = g.root.RemoveDir(folder)
		}
	}
	g.report(r)
}
