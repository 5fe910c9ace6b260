package drain

import (
	"sync"
	"time"
)

// Row is the live state of one container on a Board.
type Row struct {
	Name   string
	Key    string
	Phase  Phase
	Bytes  int64 // archive bytes written so far, then the image size
	Start  time.Time
	End    time.Time
	Reason string
	// Attempt is the checkpoint attempt under way or last made.
	Attempt int
}

// Board keeps the live state of a run from its events, for the terminal
// view. It is an Observer.
type Board struct {
	mu   sync.Mutex
	rows map[int]*Row
	max  int
}

// NewBoard returns an empty board.
func NewBoard() *Board { return &Board{rows: map[int]*Row{}} }

// Observe implements Observer.
func (b *Board) Observe(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.rows[e.Index]
	if !ok {
		r = &Row{Name: e.Target.Name(), Key: e.Target.Key}
		b.rows[e.Index] = r
		b.max = max(b.max, e.Index+1)
	}
	if e.Phase == PhaseProgress {
		if r.Phase == PhaseCheckpointing {
			r.Bytes = e.Bytes
		}
		return
	}
	if e.Phase == PhaseRetrying {
		// Shown as checkpointing until the next attempt starts.
		r.Reason = e.Reason
		return
	}
	r.Phase = e.Phase
	switch e.Phase {
	case PhaseCheckpointing:
		if e.Attempt <= 1 {
			r.Start = e.Time
		}
		r.Attempt, r.Bytes = e.Attempt, 0
	case PhaseDone, PhaseFailed, PhaseNotStarted, PhaseSkipped:
		r.End = e.Time
		if e.Result != nil {
			r.Reason = e.Result.Reason
			if e.Phase == PhaseDone {
				r.Bytes = e.Result.Size
			}
		}
	}
}

// Rows returns a copy of the rows in target order.
func (b *Board) Rows() []Row {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Row, 0, len(b.rows))
	for i := range b.max {
		if r, ok := b.rows[i]; ok {
			out = append(out, *r)
		}
	}
	return out
}
