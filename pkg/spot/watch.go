package spot

import (
	"context"
	"time"
)

// DefaultInterval is how often the notices are polled (AWS recommends
// every 5 seconds: a notice comes two minutes before the interruption).
const DefaultInterval = 5 * time.Second

// outageReminder is how often a lasting outage is logged again.
const outageReminder = 5 * time.Minute

// Watcher polls the metadata service until its context ends. Handlers run
// in the polling goroutine: while one runs, nothing is polled.
type Watcher struct {
	Client   *Client
	Interval time.Duration
	// Logf reports notices, and the service going away and coming back
	// (once per change, with a reminder every 5 minutes of an outage, not
	// once per failed poll).
	Logf func(format string, args ...any)
	// OnInterruption is called for the first interruption notice only.
	OnInterruption func(context.Context, InstanceAction)
	// OnRebalance is called once per distinct rebalance recommendation.
	OnRebalance func(context.Context, Rebalance)

	interrupted   bool
	lastRebalance time.Time
	downSince     time.Time // zero while the service answers
	lastReminder  time.Time
}

// Run polls every Interval, starting at once, and returns when ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	if w.Interval <= 0 {
		w.Interval = DefaultInterval
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		w.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll checks both notices once. The interruption is handled first; a
// rebalance recommendation seen after it is only logged (the drain it
// would ask for has been done).
func (w *Watcher) poll(ctx context.Context) {
	a, err := w.Client.InstanceAction(ctx)
	var r *Rebalance
	if err == nil {
		r, err = w.Client.Rebalance(ctx)
	}
	if ctx.Err() != nil {
		return
	}
	w.noteError(err)
	if a != nil && !w.interrupted {
		w.interrupted = true
		w.logf("spot interruption notice: %s at %s", a.Action, a.Time.Format(time.RFC3339))
		if w.OnInterruption != nil {
			w.OnInterruption(ctx, *a)
		}
	}
	if r != nil && !r.NoticeTime.Equal(w.lastRebalance) {
		w.lastRebalance = r.NoticeTime
		w.logf("rebalance recommendation (notice time %s)", r.NoticeTime.Format(time.RFC3339))
		if w.OnRebalance != nil && !w.interrupted {
			w.OnRebalance(ctx, *r)
		}
	}
}

// noteError logs the service going away, a reminder every
// outageReminder while it stays away, and its return.
func (w *Watcher) noteError(err error) {
	now := time.Now()
	switch {
	case err == nil && w.downSince.IsZero():
	case err == nil:
		w.logf("instance metadata service reachable again (after %v)", now.Sub(w.downSince).Round(time.Second))
		w.downSince = time.Time{}
	case w.downSince.IsZero():
		w.logf("instance metadata service: %v (retrying every %v)", err, w.Interval)
		w.downSince, w.lastReminder = now, now
	case now.Sub(w.lastReminder) >= outageReminder:
		w.logf("instance metadata service still unreachable after %v: %v", now.Sub(w.downSince).Round(time.Second), err)
		w.lastReminder = now
	}
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Logf != nil {
		w.Logf(format, args...)
	}
}
