package ckpt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// RestoredInfo says where and when an image was last restored, how many
// times it was, and how the last restored container ended when that is
// known.
type RestoredInfo struct {
	RestoredAt  time.Time `json:"restoredAt"`
	Node        string    `json:"node"`
	ContainerID string    `json:"containerID"`
	// Attempts counts the restores of this image (1 for the first).
	Attempts int `json:"attempts,omitempty"`
	// LastExit is the exit status of the last container restored from
	// it, once known (NoteExit); nil while it runs or when unknown.
	LastExit *int `json:"lastExit,omitempty"`
}

// restoredMark is restored.json.
type restoredMark struct {
	ImageID string `json:"imageID"`
	RestoredInfo
}

const maxRestoredSize = 64 << 10

func readRestored(dir *saferoot.Dir) (*restoredMark, error) {
	data, err := readSmallFile(dir, restoredFile, maxRestoredSize)
	if err != nil {
		return nil, err
	}
	var mark restoredMark
	if err := json.Unmarshal(data, &mark); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, restoredFile, err)
	}
	return &mark, nil
}

// MarkRestored records that image imageID of key has been restored once
// more (Attempts counts them). It fails with an error wrapping ErrNoImage
// when imageID is not (or no longer) the current image. A zero RestoredAt
// means now, an empty Node this host. It takes the key's lock.
func (s *Store) MarkRestored(key Key, imageID string, info RestoredInfo) error {
	l, err := s.lock(context.Background(), key, true, false)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mark restored: key %s: %w", key, ErrNoImage)
	}
	if err != nil {
		return fmt.Errorf("mark restored: %w", err)
	}
	defer l.release()
	m, err := readManifest(l.dir, key)
	if err != nil {
		return fmt.Errorf("mark restored: %w", err)
	}
	if m.ImageID != imageID {
		return fmt.Errorf("mark restored: key %s: image %s is not current (current is %s): %w", key, echo(imageID), m.ImageID, ErrNoImage)
	}
	if info.RestoredAt.IsZero() {
		info.RestoredAt = s.now()
	}
	info.RestoredAt = info.RestoredAt.UTC()
	if info.Node == "" {
		info.Node = s.node()
	}
	info.Attempts, info.LastExit = 1, nil
	if prev, err := readRestored(l.dir); err == nil && prev.ImageID == imageID {
		info.Attempts = max(prev.Attempts, 1) + 1
	}
	data, err := json.MarshalIndent(restoredMark{ImageID: imageID, RestoredInfo: info}, "", "  ")
	if err != nil {
		return fmt.Errorf("mark restored: %w", err)
	}
	if err := l.dir.WriteFile(restoredFile, append(data, '\n'), filePerm); err != nil {
		return fmt.Errorf("mark restored: key %s: %w", key, err)
	}
	return nil
}

// RemoveIfCurrent removes the image of key (manifest, archive,
// restored.json) when its current image is still imageID, under the key's
// lock. It reports whether it removed it; a key without an image, or with
// another current image, is left alone (false, nil).
func (s *Store) RemoveIfCurrent(key Key, imageID string) (bool, error) {
	l, err := s.lock(context.Background(), key, true, false)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove image: %w", err)
	}
	defer l.release()
	m, err := readManifest(l.dir, key)
	if errors.Is(err, ErrNoImage) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove image: %w", err)
	}
	if m.ImageID != imageID {
		return false, nil
	}
	if err := removeImage(l.dir, m.Archive.Name); err != nil {
		return false, fmt.Errorf("remove image %s of %s: %w", imageID, key, err)
	}
	return true, nil
}

// removeImage removes the image of the key folder dir whose archive is
// archive ("" when unknown): the manifest first, so that the image stops
// being current at once, then the archive and the restored mark.
func removeImage(dir *saferoot.Dir, archive string) error {
	if err := dir.Remove(manifestFile); err != nil {
		return err
	}
	if err := dir.Sync(); err != nil {
		return err
	}
	var errs []error
	if archive != "" {
		errs = append(errs, dir.Remove(archive))
	}
	errs = append(errs, dir.Remove(restoredFile))
	return errors.Join(errs...)
}

// NoteExit records how the container last restored from image imageID of
// key ended (its exit status). Nothing changes when the image is no longer
// current or has no restored mark. It takes the key's lock.
func (s *Store) NoteExit(key Key, imageID string, status int) error {
	l, err := s.lock(context.Background(), key, true, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("note exit: %w", err)
	}
	defer l.release()
	mark, err := readRestored(l.dir)
	if err != nil || mark.ImageID != imageID {
		return nil
	}
	mark.LastExit = &status
	data, err := json.MarshalIndent(mark, "", "  ")
	if err != nil {
		return fmt.Errorf("note exit: %w", err)
	}
	return l.dir.WriteFile(restoredFile, append(data, '\n'), filePerm)
}
