package hookcli

import (
	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/drain"
)

// logObserver writes the final state of each checkpointed container to
// ARCH's log (skipped containers are in the summary line only).
type logObserver struct{ log *zerolog.Logger }

func (o logObserver) Observe(e drain.Event) {
	if e.Result == nil || e.Phase == drain.PhaseSkipped {
		return
	}
	r := e.Result
	ev := o.log.Info()
	if r.State != drain.Checkpointed {
		ev = o.log.Warn()
	}
	ev.Str("namespace", r.Namespace).Str("id", r.ID).Str("key", r.Key).Str("state", string(r.State)).
		Str("reason", r.Reason).Str("image", r.ImageID).Int64("bytes", r.Size).
		Dur("took", r.Duration()).Msg("checkpoint-all: " + string(r.State))
}

// logReport writes the run's counts to ARCH's log.
func logReport(log *zerolog.Logger, rep *drain.Report) {
	c := rep.Counts
	log.Info().Int("checkpointed", c.Checkpointed).Int("failed", c.Failed).Int("notStarted", c.NotStarted).
		Int("skipped", c.Skipped).Int("parallel", rep.Parallel).Dur("took", rep.Finished.Sub(rep.Started)).
		Time("deadline", rep.Deadline).Msg("checkpoint-all finished")
}
