package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Container answers, for one runc call, the question every handler of the
// wrapper asks first: is this container ARCH's, and in which state?
//
// A container is ARCH's exactly when ARCH has a record of it, made at its
// create when its environment enabled it (ARCH_ENABLE, see
// archspec.Decide) and ARCH could serve it. The marker the C fast path
// reads (marker.go) follows the records; a broken configuration changes
// what ARCH starts, never whose a container is (the wrapper's policy.go).
type Container struct {
	Root, ID string
	// Record is ARCH's record, when it has a readable one.
	Record *Record
	// Err says why the record that exists cannot be read: the container
	// is ARCH's, in a state ARCH cannot know.
	Err error
}

// Lookup finds container root/id: one read of its record (one failed
// open for a container that is not ARCH's).
func (r Records) Lookup(root, id string) Container {
	c := Container{Root: root, ID: id}
	rec, err := r.Load(root, id)
	switch {
	case errors.Is(err, ErrNoRecord):
	case errors.Is(err, ErrBadID):
		// runc refuses such an id too; ARCH never recorded it.
	case err != nil:
		c.Err = err
	default:
		c.Record = rec
	}
	return c
}

// Enabled reports whether the container is ARCH's (its record may still
// be unreadable: see Err).
func (c Container) Enabled() bool { return c.Record != nil || c.Err != nil }

// Phase is the state of an enabled container as ARCH sees it between runc
// calls.
type Phase string

// The phases of an enabled container.
const (
	// PhaseNotARCH: no record; every call goes to runc unchanged.
	PhaseNotARCH Phase = "not ARCH's"
	// PhaseUnknown: a record ARCH cannot read.
	PhaseUnknown Phase = "unknown (unreadable record)"
	// PhaseRestored: its create was turned into a restore; the caller's
	// start is answered by ARCH.
	PhaseRestored Phase = "restored, start pending"
	// PhaseCheckpointing: a checkpoint is in flight (Record.Checkpoint).
	PhaseCheckpointing Phase = "checkpointing"
	// PhaseCheckpointed: ARCH checkpointed and stopped it; the caller's
	// resume is answered by ARCH.
	PhaseCheckpointed Phase = "checkpointed, stopped"
	// PhaseCreated: created or running, nothing pending.
	PhaseCreated Phase = "created"
)

// Phase tells where the container stands.
func (c Container) Phase() Phase {
	switch {
	case c.Err != nil:
		return PhaseUnknown
	case c.Record == nil:
		return PhaseNotARCH
	case c.Record.CheckpointInFlight() != nil:
		return PhaseCheckpointing
	case c.Record.SkipStart:
		return PhaseRestored
	case c.Record.SkipResume:
		return PhaseCheckpointed
	}
	return PhaseCreated
}

// Find lists the records of container id under any runc root whose
// bundle is dir (for `arch-hook explain`, which knows a bundle, not the
// caller's runc root).
func (r Records) Find(id, dir string) []*Record {
	if !ValidID(id) {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(r.Dir, "*", id+".json"))
	var out []*Record
	for _, p := range paths {
		rec, err := LoadRecordFile(p)
		if err == nil && sameDir(rec.Bundle, dir) {
			out = append(out, rec)
		}
	}
	return out
}

func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// ErrNoMarker: Adopt saved the record but could not mark the container
// for the C fast path (its execs and pauses then reach runc unserialized).
var ErrNoMarker = errors.New("cannot mark the container for the fast path")

// Adopt makes a container ARCH's: it saves its record, then the marker
// the C fast path reads. An error wrapping ErrNoMarker means the record
// is saved.
func (r Records) Adopt(rec *Record) error {
	if err := r.Save(rec); err != nil {
		return err
	}
	if err := r.MarkEnabled(rec.ID); err != nil {
		return fmt.Errorf("%w: %w", ErrNoMarker, err)
	}
	return nil
}
