package drain

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Image is what a successful checkpoint left in the store.
type Image struct {
	ID   string
	Size int64 // archive bytes
}

// ErrGone is returned (wrapped) by a Checkpointer when the container ended
// on its own before its checkpoint: nothing is left to save, and its result
// is Skipped rather than Failed.
var ErrGone = errors.New("the container ended before its checkpoint")

// ErrStillRunning is wrapped by a Checkpointer's error when the failed
// checkpoint left the container running (or paused) as it was: another
// attempt may succeed.
var ErrStillRunning = errors.New("the container keeps running")

// Checkpointer checkpoints one container. progress may be called with the
// archive bytes written so far. It must be safe for concurrent use.
type Checkpointer interface {
	Checkpoint(ctx context.Context, t Target, progress func(written int64)) (Image, error)
}

// ScheduleOptions bound a Schedule.
type ScheduleOptions struct {
	Parallel int       // at most this many checkpoints at once (< 1 means 1)
	Deadline time.Time // no checkpoint (nor a retry) starts at or after it
	Observer Observer  // optional
	// Attempts is how many times a container whose checkpoint failed and
	// left it running is tried (< 1 means 1): a spot drain that gives up
	// on a transient failure loses that container's progress.
	Attempts int
	// RetryPause is the wait before a retry (0: DefaultRetryPause).
	RetryPause time.Duration
}

// DefaultRetryPause is the wait before a container's next attempt.
const DefaultRetryPause = 500 * time.Millisecond

// Schedule checkpoints every target without a Skip, in order, at most
// o.Parallel at once, and returns one result per target in the targets'
// order. Once o.Deadline passes or ctx ends, nothing new starts and the
// rest are NotStarted. Checkpoints already running are not interrupted:
// arch-wrapper bounds each (checkpoint_timeout), and cutting one short
// would leave a frozen container behind; they get a context that ctx's end
// does not cancel. A failure does not stop the others.
func Schedule(ctx context.Context, targets []Target, cp Checkpointer, o ScheduleOptions) []Result {
	results := make([]Result, len(targets))
	for i, t := range targets {
		results[i] = Result{Namespace: t.Namespace, ID: t.ID, Key: t.Key, Store: t.Store}
		if t.Skip != "" {
			results[i].State, results[i].Reason = Skipped, t.Skip
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseSkipped, Result: &results[i]})
		} else {
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseQueued})
		}
	}
	slots := make(chan struct{}, max(o.Parallel, 1))
	deadline := time.NewTimer(time.Until(o.Deadline))
	defer deadline.Stop()
	running := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	stop := ""
	for i, t := range targets {
		if t.Skip != "" {
			continue
		}
		if stop == "" {
			stop = waitForSlot(ctx, slots, deadline.C, o.Deadline)
		}
		if stop != "" {
			results[i].State, results[i].Reason = NotStarted, stop
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseNotStarted, Result: &results[i]})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			checkpointWithRetries(running, cp, i, t, &results[i], o)
		}()
	}
	wg.Wait()
	return results
}

// waitForSlot takes a slot and returns "", or returns why nothing may start
// any more (the slot is then not held).
func waitForSlot(ctx context.Context, slots chan struct{}, expired <-chan time.Time, deadline time.Time) string {
	select {
	case slots <- struct{}{}:
	case <-expired:
		return ReasonDeadline
	case <-ctx.Done():
		return ReasonCancelled
	}
	// select picks at random among ready cases: check again.
	switch {
	case !time.Now().Before(deadline):
		<-slots
		return ReasonDeadline
	case ctx.Err() != nil:
		<-slots
		return ReasonCancelled
	}
	return ""
}

// checkpointWithRetries checkpoints one container, again while its
// failures leave it running, within o's attempts and deadline, and fills
// its result.
func checkpointWithRetries(ctx context.Context, cp Checkpointer, i int, t Target, r *Result, o ScheduleOptions) {
	pause := o.RetryPause
	if pause <= 0 {
		pause = DefaultRetryPause
	}
	r.Start = time.Now()
	for attempt := 1; ; attempt++ {
		r.Attempts = attempt
		observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseCheckpointing, Attempt: attempt})
		img, err := cp.Checkpoint(ctx, t, func(n int64) {
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseProgress, Bytes: n})
		})
		r.End = time.Now()
		switch {
		case errors.Is(err, ErrGone):
			r.State, r.Reason = Skipped, err.Error()
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseSkipped, Time: r.End, Result: r})
			return
		case err == nil:
			r.State, r.ImageID, r.Size = Checkpointed, img.ID, img.Size
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseDone, Time: r.End, Result: r})
			return
		}
		retry := errors.Is(err, ErrStillRunning) && attempt < max(o.Attempts, 1) &&
			time.Now().Add(pause).Before(o.Deadline) && ctx.Err() == nil
		if !retry {
			r.State, r.Reason = Failed, err.Error()
			observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseFailed, Time: r.End, Result: r})
			return
		}
		r.Retries = append(r.Retries, err.Error())
		observe(o.Observer, Event{Index: i, Target: t, Phase: PhaseRetrying, Time: r.End, Attempt: attempt, Reason: err.Error()})
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
	}
}
