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

// Status is the state of a key's image as List sees it.
type Status string

// Statuses reported by List.
const (
	StatusComplete   Status = "complete"   // a valid image, not restored yet
	StatusRestored   Status = "restored"   // a valid image that has been restored
	StatusIncomplete Status = "incomplete" // no usable image, only parts (interrupted commit)
	StatusCorrupt    Status = "corrupt"    // damaged manifest or archive, or not a key folder
	// For a store that signs (SignWith): an image that never restores.
	StatusUnsigned Status = "unsigned" // the manifest carries no signature
	StatusForged   Status = "forged"   // the signature does not match the manifest
)

// Entry is one key folder of the store.
type Entry struct {
	Key            Key    // zero when Folder is not the escaped form of a key
	Folder         string // folder name in the store
	ImageID        string
	Size           int64 // archive bytes
	CheckpointedAt time.Time
	Status         Status
	Restored       *RestoredInfo // when Status is StatusRestored
	// Leftovers names files of the folder that are not part of the
	// current image (interrupted or running commits, old archives).
	Leftovers []string
	Err       error // why the status is incomplete or corrupt
}

// List describes every key folder of the store, sorted by folder name.
// With verify, each image is read in full (Verify); without, only the
// presence, kind and size of its archive are checked. An image with
// leftovers next to it keeps its status (the leftovers are listed); a
// folder with leftovers but no valid manifest is incomplete. Folders with
// nothing in them are skipped. List takes no lock.
func (s *Store) List(ctx context.Context, verify bool) ([]Entry, error) {
	root, err := s.openRoot(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list checkpoint store: %w", err)
	}
	defer root.Close()
	ents, err := root.ReadDir()
	if err != nil {
		return nil, fmt.Errorf("list checkpoint store: %w", err)
	}
	var out []Entry
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		e, keep, err := s.describe(ctx, root, de.Name(), verify)
		if err != nil {
			return out, err
		}
		if keep {
			out = append(out, e)
		}
	}
	return out, nil
}

// describe builds the Entry of one folder; keep is false for an empty key
// folder. Only a ctx error is returned as an error.
func (s *Store) describe(ctx context.Context, root *saferoot.Dir, folder string, verify bool) (e Entry, keep bool, err error) {
	e = Entry{Folder: folder, Status: StatusCorrupt}
	dir, err := root.OpenDir(folder)
	if err != nil {
		e.Err = err
		return e, true, nil
	}
	defer dir.Close()
	if e.Key, e.Err = keyFromFolder(folder); e.Err != nil {
		return e, true, nil
	}
	m, raw, merr := readManifestFile(dir, e.Key, nil)
	if merr != nil && !errors.Is(merr, ErrNoImage) {
		e.Err = merr
		return e, true, nil
	}
	var signErr error
	if m != nil && s.signer != nil {
		signErr = s.signer.check(m, raw)
	}
	lo, err := findLeftovers(dir, m)
	if err != nil {
		e.Err = err
		return e, true, nil
	}
	for _, l := range lo {
		e.Leftovers = append(e.Leftovers, l.name)
	}
	if m == nil {
		if len(lo) == 0 {
			return e, false, nil
		}
		e.Status = StatusIncomplete
		e.Err = fmt.Errorf("no manifest; leftovers: %s", strings.Join(e.Leftovers, ", "))
		return e, true, nil
	}
	e.ImageID, e.Size, e.CheckpointedAt = m.ImageID, m.Archive.Size, m.CheckpointedAt
	if signErr != nil {
		e.Status, e.Err = StatusForged, signErr
		if errors.Is(signErr, ErrUnsigned) {
			e.Status = StatusUnsigned
		}
		return e, true, nil
	}
	status, err := checkImage(ctx, e.Key, dir, m, verify)
	if ctx.Err() != nil {
		return e, false, ctx.Err()
	}
	e.Status, e.Err = status, err
	if status == StatusComplete {
		if mark, err := readRestored(dir); err == nil && mark.ImageID == m.ImageID {
			e.Status, e.Restored = StatusRestored, &mark.RestoredInfo
		}
	}
	return e, true, nil
}

// checkImage checks the archive of manifest m: presence, kind and size, and
// with verify its content.
func checkImage(ctx context.Context, key Key, dir *saferoot.Dir, m *Manifest, verify bool) (Status, error) {
	p := dir.Join(m.Archive.Name)
	f, st, err := openRegularIn(dir, m.Archive.Name)
	if errors.Is(err, fs.ErrNotExist) {
		return StatusIncomplete, fmt.Errorf("archive %s named by the manifest is missing", m.Archive.Name)
	}
	if err != nil {
		return StatusCorrupt, corruptIfBadFile(err)
	}
	defer f.Close()
	if err := checkArchiveSize(st.Size(), m.Archive.Size); err != nil {
		return StatusCorrupt, err
	}
	if verify {
		img := &Image{Key: key, Manifest: m, path: p, f: f}
		if err := img.Verify(ctx); err != nil {
			return StatusCorrupt, err
		}
	}
	return StatusComplete, nil
}
