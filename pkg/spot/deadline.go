package spot

import "time"

// MinDrainWindow is the least time DrainDeadline gives a drain, even when
// the notice time has (nearly) passed: trying costs nothing then.
const MinDrainWindow = 5 * time.Second

// DrainDeadline is when a drain started at now for notice a must stop
// starting new checkpoints: margin before the interruption, never more
// than maxWindow after now, and never less than MinDrainWindow after now.
// A notice without a time gets maxWindow.
func DrainDeadline(now time.Time, a InstanceAction, margin, maxWindow time.Duration) time.Time {
	d := now.Add(maxWindow)
	if !a.Time.IsZero() {
		if byNotice := a.Time.Add(-margin); byNotice.Before(d) {
			d = byNotice
		}
	}
	if floor := now.Add(MinDrainWindow); d.Before(floor) {
		d = floor
	}
	return d
}
