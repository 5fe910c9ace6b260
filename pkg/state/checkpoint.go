package state

import (
	"fmt"
	"slices"
	"time"
)

// CheckpointState is where an ARCH checkpoint of a container stands. The
// record stores it; every handler moves it only through Checkpoint.To, and
// `arch-hook explain` prints it.
//
// The moves (transitions below):
//
//	pending   -> dumped | failed
//	dumped    -> committed | settled | failed
//	committed -> killed | settled | failed
//	killed    -> settled
//
// The states:
//
//   - pending: started; the container is frozen, CRIU's dump not finished.
//   - dumped: the dump is in local staging; the store has nothing yet.
//   - committed: the image is in the store; the container not yet killed.
//   - killed: SIGKILL was delivered after the commit: the image stands,
//     whatever the container's last process does next.
//   - settled (final): the container is stopped and its image kept for
//     the next create.
//   - failed (final): given up; the container lives on (revived, thawed or
//     left paused for the caller that paused it), and no image of this
//     checkpoint is kept.
//
// A checkpoint whose wrapper died (OOM kill, node trouble) is settled by
// the next ARCH call on the container, from what runc and the store show:
// that is why dumped and committed may go straight to settled (the image
// was committed and the container is stopped) or failed (it lives on, so
// the image is stale and removed).
type CheckpointState string

// The states of a checkpoint.
const (
	CheckpointPending   CheckpointState = "pending"
	CheckpointDumped    CheckpointState = "dumped"
	CheckpointCommitted CheckpointState = "committed"
	CheckpointKilled    CheckpointState = "killed"
	CheckpointSettled   CheckpointState = "settled"
	CheckpointFailed    CheckpointState = "failed"
)

// transitions lists the states each state may move to.
var transitions = map[CheckpointState][]CheckpointState{
	CheckpointPending:   {CheckpointDumped, CheckpointFailed},
	CheckpointDumped:    {CheckpointCommitted, CheckpointSettled, CheckpointFailed},
	CheckpointCommitted: {CheckpointKilled, CheckpointSettled, CheckpointFailed},
	CheckpointKilled:    {CheckpointSettled},
}

// Checkpoint is the last ARCH checkpoint of a container.
type Checkpoint struct {
	State   CheckpointState `json:"state"`
	Started time.Time       `json:"started"`
	// Changed is when the checkpoint reached its state.
	Changed time.Time `json:"changed"`
	// ImageID is the committed image (from committed on).
	ImageID string `json:"imageID,omitempty"`
	// LeftStopped: the dump leaves the tasks stopped (SIGSTOP) and CRIU's
	// network lock in place; a container that goes on running needs both
	// undone.
	LeftStopped bool `json:"leftStopped,omitempty"`
	// Froze: ARCH paused the container itself (the caller had not), so
	// nobody else will resume it.
	Froze bool `json:"froze,omitempty"`
	// Reason says why it failed.
	Reason string `json:"reason,omitempty"`
}

// InFlight reports whether the checkpoint has started and not finished.
func (c *Checkpoint) InFlight() bool {
	return c != nil && c.State != CheckpointSettled && c.State != CheckpointFailed
}

// To moves the checkpoint to next, refusing a move the state machine does
// not have.
func (c *Checkpoint) To(next CheckpointState, now time.Time) error {
	if !slices.Contains(transitions[c.State], next) {
		return fmt.Errorf("checkpoint state: no move from %s to %s", c.State, next)
	}
	c.State, c.Changed = next, now.UTC()
	return nil
}

// Commit moves a dumped checkpoint to committed with its image.
func (c *Checkpoint) Commit(imageID string, now time.Time) error {
	if err := c.To(CheckpointCommitted, now); err != nil {
		return err
	}
	c.ImageID = imageID
	return nil
}

// Fail moves the checkpoint to failed, saying why.
func (c *Checkpoint) Fail(reason string, now time.Time) error {
	if err := c.To(CheckpointFailed, now); err != nil {
		return err
	}
	c.Reason = reason
	return nil
}

// BeginCheckpoint starts a checkpoint of the container (pending). One in
// flight must be settled first.
func (r *Record) BeginCheckpoint(now time.Time, leftStopped, froze bool) (*Checkpoint, error) {
	if r.Checkpoint.InFlight() {
		return nil, fmt.Errorf("checkpoint state: a checkpoint started at %s is %s", r.Checkpoint.Started.Format(time.RFC3339), r.Checkpoint.State)
	}
	now = now.UTC()
	r.Checkpoint = &Checkpoint{State: CheckpointPending, Started: now, Changed: now, LeftStopped: leftStopped, Froze: froze}
	return r.Checkpoint, nil
}

// CheckpointInFlight is the record's checkpoint when one is in flight, or
// nil.
func (r *Record) CheckpointInFlight() *Checkpoint {
	if r.Checkpoint.InFlight() {
		return r.Checkpoint
	}
	return nil
}
