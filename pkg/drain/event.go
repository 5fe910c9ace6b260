package drain

import "time"

// Phase is a step in the life of one container during a run.
type Phase string

// Phases, in order; a container ends in Done, Failed, Skipped or NotStarted.
const (
	PhaseSkipped       Phase = "skipped"
	PhaseQueued        Phase = "queued"
	PhaseCheckpointing Phase = "checkpointing"
	PhaseProgress      Phase = "progress" // Bytes of the archive written so far
	PhaseRetrying      Phase = "retrying" // Attempt failed (Reason), the container runs on, another follows
	PhaseDone          Phase = "done"
	PhaseFailed        Phase = "failed"
	PhaseNotStarted    Phase = "not-started"
)

// Event tells an Observer what happened to targets[Index].
type Event struct {
	Index  int
	Target Target
	Phase  Phase
	Time   time.Time
	Bytes  int64   // PhaseProgress
	Result *Result // final phases
	// Attempt numbers the checkpoint attempt (PhaseCheckpointing,
	// PhaseRetrying), from 1; Reason is why a retried attempt failed.
	Attempt int
	Reason  string
}

// Observer receives the events of a run. Observe is called from several
// goroutines at once and must not block for long.
type Observer interface {
	Observe(Event)
}

// Observers fans events out to several observers.
type Observers []Observer

// Observe implements Observer.
func (os Observers) Observe(e Event) {
	for _, o := range os {
		if o != nil {
			o.Observe(e)
		}
	}
}

// observe sends e to o when there is one.
func observe(o Observer, e Event) {
	if o != nil {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		o.Observe(e)
	}
}
