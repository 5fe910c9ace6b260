package spot

import (
	"testing"
	"time"
)

func TestDrainDeadline(t *testing.T) {
	now := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) InstanceAction { return InstanceAction{Action: "terminate", Time: now.Add(d)} }
	for _, tc := range []struct {
		name   string
		notice InstanceAction
		want   time.Duration
	}{
		{"two-minute notice: capped by the window", at(120 * time.Second), 110 * time.Second},
		{"notice minus margin", at(60 * time.Second), 50 * time.Second},
		{"nearly past: floor", at(12 * time.Second), MinDrainWindow},
		{"already past: floor", at(-time.Minute), MinDrainWindow},
		{"no time: the window", InstanceAction{Action: "stop"}, 110 * time.Second},
	} {
		if got := DrainDeadline(now, tc.notice, 10*time.Second, 110*time.Second).Sub(now); got != tc.want {
			t.Errorf("%s: deadline in %v, want %v", tc.name, got, tc.want)
		}
	}
}
