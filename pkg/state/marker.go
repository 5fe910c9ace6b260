package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// EnabledMarker is the file that tells the C fast path (pkg/fastpath) that
// id may be an enabled container, whose execs and pauses ARCH serializes:
// <state dir>/enabled/<id>, beside the records folder.
func (r Records) EnabledMarker(id string) string {
	return filepath.Join(filepath.Dir(r.Dir), "enabled", id)
}

// MarkEnabled creates the marker of id.
func (r Records) MarkEnabled(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w %q", ErrBadID, truncateID(id))
	}
	p := r.EnabledMarker(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create marker folder: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create marker: %w", err)
	}
	return f.Close()
}

// UnmarkEnabled removes the marker of id unless another runc root still
// has an enabled container of that id.
func (r Records) UnmarkEnabled(id string) {
	if !ValidID(id) {
		return
	}
	if others, _ := filepath.Glob(filepath.Join(r.Dir, "*", id+".json")); len(others) > 0 {
		return
	}
	if err := os.Remove(r.EnabledMarker(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
	// A create of the same id under another root may have saved its record
	// and marked it between the check and the removal.
	if others, _ := filepath.Glob(filepath.Join(r.Dir, "*", id+".json")); len(others) > 0 {
		r.MarkEnabled(id)
	}
}
