package drain

import "time"

// State is the outcome for one container.
type State string

// Outcomes.
const (
	Checkpointed State = "checkpointed" // image committed and verified, container stopped
	Failed       State = "failed"       // the checkpoint failed; the container keeps running
	Skipped      State = "skipped"      // not a container to checkpoint (Reason says why)
	NotStarted   State = "not-started"  // the deadline passed (or the run was stopped) first
)

// Reasons of NotStarted results.
const (
	ReasonDeadline  = "not started: deadline"
	ReasonCancelled = "not started: stopped"
)

// Result is the outcome for one container.
type Result struct {
	Namespace string    `json:"namespace"`
	ID        string    `json:"id"`
	Key       string    `json:"key,omitempty"`
	Store     string    `json:"store,omitempty"`
	State     State     `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	ImageID   string    `json:"imageID,omitempty"`
	Size      int64     `json:"size,omitempty"` // archive bytes of the new image
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
	// Attempts is how many checkpoints were tried (0 when none ran);
	// Retries are the reasons of the failed ones before the last.
	Attempts int      `json:"attempts,omitempty"`
	Retries  []string `json:"retries,omitempty"`
}

// Name is "namespace/id".
func (r Result) Name() string { return r.Namespace + "/" + r.ID }

// Duration is how long the checkpoint took (0 when it did not run).
func (r Result) Duration() time.Duration {
	if r.Start.IsZero() || r.End.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// Report is the outcome of a whole run.
type Report struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Deadline time.Time `json:"deadline"`
	Parallel int       `json:"parallel"`
	Counts   Counts    `json:"counts"`
	Results  []Result  `json:"results"` // by namespace, then id
}

// Counts tallies the results by state.
type Counts struct {
	Checkpointed int `json:"checkpointed"`
	Failed       int `json:"failed"`
	Skipped      int `json:"skipped"`
	NotStarted   int `json:"notStarted"`
}

func countResults(rs []Result) Counts {
	var c Counts
	for _, r := range rs {
		switch r.State {
		case Checkpointed:
			c.Checkpointed++
		case Failed:
			c.Failed++
		case Skipped:
			c.Skipped++
		case NotStarted:
			c.NotStarted++
		}
	}
	return c
}

// OK reports whether every container that was to be checkpointed was:
// none failed and none was left unstarted.
func (r *Report) OK() bool { return r.Counts.Failed == 0 && r.Counts.NotStarted == 0 }
