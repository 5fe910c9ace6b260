package drain

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Lines writes one plain line per event, for logs and pipes (no terminal):
// skipped, queued, checkpointing, done, failed, not started, and while a
// checkpoint runs, its archive size at most every ProgressEvery.
type Lines struct {
	w             io.Writer
	ProgressEvery time.Duration

	mu       sync.Mutex
	lastProg map[int]time.Time
}

// NewLines returns a line logger writing to w.
func NewLines(w io.Writer) *Lines {
	return &Lines{w: w, ProgressEvery: 5 * time.Second, lastProg: map[int]time.Time{}}
}

// Observe implements Observer.
func (l *Lines) Observe(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var msg string
	switch e.Phase {
	case PhaseSkipped:
		msg = "skipped: " + e.Result.Reason
	case PhaseQueued:
		msg = "queued, key " + e.Target.Key
	case PhaseCheckpointing:
		msg = "checkpointing"
		if e.Attempt > 1 {
			msg = fmt.Sprintf("checkpointing, attempt %d", e.Attempt)
		}
		l.lastProg[e.Index] = e.Time
	case PhaseRetrying:
		msg = fmt.Sprintf("attempt %d failed, the container runs on; trying again: %s", e.Attempt, e.Reason)
	case PhaseProgress:
		if e.Time.Sub(l.lastProg[e.Index]) < l.ProgressEvery {
			return
		}
		l.lastProg[e.Index] = e.Time
		msg = "checkpointing: " + formatSize(e.Bytes) + " written"
	case PhaseDone:
		msg = fmt.Sprintf("done: image %s, %s in %s", e.Result.ImageID, formatSize(e.Result.Size), formatDuration(e.Result.Duration()))
	case PhaseFailed:
		msg = fmt.Sprintf("FAILED after %s: %s", formatDuration(e.Result.Duration()), e.Result.Reason)
	case PhaseNotStarted:
		msg = e.Result.Reason
	default:
		return
	}
	fmt.Fprintf(l.w, "%s %s: %s\n", e.Time.Format("15:04:05.000"), e.Target.Name(), msg)
}
