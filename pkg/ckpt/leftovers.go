package ckpt

import (
	"errors"
	"fmt"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// leftover is a file of a key folder that is not part of the current image.
type leftover struct {
	name   string
	size   int64
	reason string
}

// findLeftovers lists the files of the key folder dir that do not belong to
// the image m (nil: there is no valid image). Files ARCH does not know are
// not listed: they are left alone.
func findLeftovers(dir *saferoot.Dir, m *Manifest) ([]leftover, error) {
	ents, err := dir.ReadDir()
	if err != nil {
		return nil, fmt.Errorf("read key folder: %w", err)
	}
	var out []leftover
	for _, e := range ents {
		name, reason := e.Name(), ""
		switch {
		case name == lockFile || name == manifestFile:
			continue
		case isIncoming(name):
			reason = "unfinished archive of an interrupted commit"
		case isAtomicTemp(name):
			reason = "temp file of an interrupted write"
		case archiveImageID(name) != "":
			if m != nil && name == m.Archive.Name {
				continue
			}
			reason = "archive not named by the manifest"
		case name == restoredFile:
			if m != nil {
				if mark, err := readRestored(dir); err == nil && mark.ImageID == m.ImageID {
					continue
				}
			}
			reason = "restored mark of another image"
		default:
			continue
		}
		var size int64
		if info, err := e.Info(); err == nil {
			size = info.Size()
		}
		out = append(out, leftover{name: name, size: size, reason: reason})
	}
	return out, nil
}

// sweep removes the leftovers of dir next to image m. The caller holds the
// key's lock, so no commit is writing: every .incoming file is dead.
func sweep(dir *saferoot.Dir, m *Manifest) error {
	lo, err := findLeftovers(dir, m)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range lo {
		errs = append(errs, dir.Remove(l.name))
	}
	return errors.Join(errs...)
}

// IncomingSizes maps the archives being written in key's folder (by a
// commit under way, or left by an interrupted one) to their sizes: for
// progress watchers. A key without a folder has none.
func (s *Store) IncomingSizes(key Key) map[string]int64 {
	dir, err := s.openKeyDir(key, false)
	if err != nil {
		return nil
	}
	defer dir.Close()
	ents, err := dir.ReadDir()
	if err != nil {
		return nil
	}
	m := map[string]int64{}
	for _, e := range ents {
		if !isIncoming(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil {
			m[e.Name()] = info.Size()
		}
	}
	return m
}
