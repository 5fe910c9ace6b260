package drain

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func far() time.Time { return time.Now().Add(time.Hour) }

func TestScheduleRunsAtMostParallelAtOnce(t *testing.T) {
	ts := targets("e2e", 12)
	cp := &fakeCheckpointer{delay: map[string]time.Duration{}}
	for _, tg := range ts {
		cp.delay[tg.ID] = 20 * time.Millisecond
	}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 3, Deadline: far()})
	if cp.maxInFlight != 3 {
		t.Fatalf("at most %d in flight; want exactly 3 (parallel 3, 12 slow checkpoints)", cp.maxInFlight)
	}
	for _, r := range res {
		if r.State != Checkpointed {
			t.Fatalf("%s: %s %s", r.Name(), r.State, r.Reason)
		}
	}
}

func TestScheduleParallelOneIsSequential(t *testing.T) {
	ts := targets("e2e", 4)
	cp := &fakeCheckpointer{delay: map[string]time.Duration{"c00": 10 * time.Millisecond}}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 1, Deadline: far()})
	if cp.maxInFlight != 1 || !slices.Equal(cp.started, []string{"c00", "c01", "c02", "c03"}) {
		t.Fatalf("max in flight %d, start order %v", cp.maxInFlight, cp.started)
	}
	for i := 1; i < len(res); i++ {
		if res[i].Start.Before(res[i-1].End) {
			t.Fatalf("%s started before %s ended", res[i].ID, res[i-1].ID)
		}
	}
}

func TestDeadlineStopsNewStartsButNotRunningOnes(t *testing.T) {
	ts := targets("e2e", 5)
	cp := &fakeCheckpointer{release: make(chan struct{})}
	// The first two start at once; the deadline is far enough beyond that
	// on a loaded machine, and they finish only after it.
	deadline := time.Now().Add(2 * time.Second)
	go func() {
		time.Sleep(time.Until(deadline) + 50*time.Millisecond)
		close(cp.release)
	}()
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 2, Deadline: deadline})
	for i, r := range res {
		want, reason := Checkpointed, ""
		if i >= 2 {
			want, reason = NotStarted, ReasonDeadline
		}
		if r.State != want || r.Reason != reason {
			t.Errorf("%s: %s %q; want %s %q", r.ID, r.State, r.Reason, want, reason)
		}
	}
	if len(cp.started) != 2 {
		t.Fatalf("started %v after the deadline", cp.started)
	}
	if !res[0].End.After(deadline) {
		t.Fatal("the running checkpoints were not allowed to finish after the deadline")
	}
}

func TestPassedDeadlineStartsNothing(t *testing.T) {
	cp := &fakeCheckpointer{}
	res := Schedule(context.Background(), targets("e2e", 3), cp, ScheduleOptions{Parallel: 8, Deadline: time.Now().Add(-time.Second)})
	if len(cp.started) != 0 {
		t.Fatalf("started %v with the deadline passed", cp.started)
	}
	for _, r := range res {
		if r.State != NotStarted || r.Reason != ReasonDeadline {
			t.Fatalf("%s: %s %q", r.ID, r.State, r.Reason)
		}
	}
}

func TestCancelStopsNewStartsAndLetsRunningOnesFinish(t *testing.T) {
	ts := targets("e2e", 4)
	cp := &fakeCheckpointer{release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			cp.mu.Lock()
			n := len(cp.started)
			cp.mu.Unlock()
			if n == 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		time.Sleep(20 * time.Millisecond)
		close(cp.release)
	}()
	res := Schedule(ctx, ts, cp, ScheduleOptions{Parallel: 1, Deadline: far()})
	if res[0].State != Checkpointed || cp.ctxErrs[0] != nil {
		t.Fatalf("the running checkpoint: %s, its context: %v", res[0].State, cp.ctxErrs[0])
	}
	for _, r := range res[1:] {
		if r.State != NotStarted || r.Reason != ReasonCancelled {
			t.Fatalf("%s: %s %q", r.ID, r.State, r.Reason)
		}
	}
}

func TestOneFailureDoesNotStopTheOthers(t *testing.T) {
	ts := targets("e2e", 6)
	cp := &fakeCheckpointer{fail: map[string]bool{"c01": true}}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 2, Deadline: far()})
	for _, r := range res {
		if r.ID == "c01" {
			if r.State != Failed || !strings.Contains(r.Reason, "dump failed for c01") {
				t.Fatalf("c01: %s %q", r.State, r.Reason)
			}
			continue
		}
		if r.State != Checkpointed || r.ImageID != "img-"+r.ID {
			t.Fatalf("%s: %s %q", r.ID, r.State, r.Reason)
		}
	}
	if c := countResults(res); c.Failed != 1 || c.Checkpointed != 5 {
		t.Fatalf("counts %+v", c)
	}
}

func TestResultsKeepTheTargetOrder(t *testing.T) {
	ts := targets("e2e", 5)
	cp := &fakeCheckpointer{delay: map[string]time.Duration{}}
	for i, tg := range ts { // the first finishes last
		cp.delay[tg.ID] = time.Duration(len(ts)-i) * 10 * time.Millisecond
	}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 5, Deadline: far()})
	for i, r := range res {
		if r.ID != ts[i].ID || r.Key != ts[i].Key {
			t.Fatalf("result %d is %s; want %s", i, r.ID, ts[i].ID)
		}
	}
	if !res[0].End.After(res[4].End) {
		t.Fatal("the test did not make the checkpoints finish out of order")
	}
}

func TestSkippedTargetsAreReportedNotCheckpointed(t *testing.T) {
	ts := targets("e2e", 3)
	ts[1].Skip = "not enabled: ARCH_ENABLE is not set"
	cp := &fakeCheckpointer{}
	rec := &recorder{}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 2, Deadline: far(), Observer: rec})
	if slices.Contains(cp.started, "c01") {
		t.Fatal("a skipped target was checkpointed")
	}
	if res[1].State != Skipped || res[1].Reason != ts[1].Skip {
		t.Fatalf("c01: %s %q", res[1].State, res[1].Reason)
	}
	if got := rec.phases(1); !slices.Equal(got, []Phase{PhaseSkipped}) {
		t.Fatalf("events of the skipped target: %v", got)
	}
	if got := rec.phases(0); !slices.Equal(got, []Phase{PhaseQueued, PhaseCheckpointing, PhaseProgress, PhaseDone}) {
		t.Fatalf("events of a checkpointed target: %v", got)
	}
}

func TestAContainerThatEndedOnItsOwnIsSkipped(t *testing.T) {
	ts := targets("e2e", 2)
	cp := &fakeCheckpointer{gone: map[string]bool{"c00": true}}
	rec := &recorder{}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 2, Deadline: far(), Observer: rec})
	if res[0].State != Skipped || !strings.Contains(res[0].Reason, "ended before its checkpoint") || res[1].State != Checkpointed {
		t.Fatalf("results %+v", res)
	}
	if got := rec.phases(0); got[len(got)-1] != PhaseSkipped {
		t.Fatalf("events %v", got)
	}
	if c := countResults(res); c.Failed != 0 || c.Skipped != 1 {
		t.Fatalf("counts %+v", c)
	}
}

// TestRetriesWhileTheContainerRunsOn: a checkpoint that failed and left its
// container running is tried again, up to Attempts; the result counts the
// attempts and keeps the earlier failures' reasons; a failure that is not
// transient, or one past the budget, is final.
func TestRetriesWhileTheContainerRunsOn(t *testing.T) {
	ts := targets("e2e", 3)
	cp := &fakeCheckpointer{
		transient: map[string]int{"c00": 2, "c01": 5},
		fail:      map[string]bool{"c02": true},
	}
	rec := &recorder{}
	res := Schedule(context.Background(), ts, cp, ScheduleOptions{Parallel: 3, Deadline: far(), Attempts: 3, RetryPause: time.Millisecond, Observer: rec})
	if r := res[0]; r.State != Checkpointed || r.Attempts != 3 || len(r.Retries) != 2 || !strings.Contains(r.Retries[0], "unable to freeze") {
		t.Fatalf("c00: %+v", r)
	}
	if r := res[1]; r.State != Failed || r.Attempts != 3 || len(r.Retries) != 2 {
		t.Fatalf("c01 (past the budget): %+v", r)
	}
	if r := res[2]; r.State != Failed || r.Attempts != 1 {
		t.Fatalf("c02 (not transient): %+v", r)
	}
	retrying := 0
	for _, e := range rec.events {
		if e.Phase == PhaseRetrying {
			retrying++
		}
	}
	if retrying != 4 {
		t.Fatalf("%d retrying events, want 4", retrying)
	}
}

// TestNoRetryPastTheDeadline: a retry never starts after the deadline.
func TestNoRetryPastTheDeadline(t *testing.T) {
	cp := &fakeCheckpointer{transient: map[string]int{"c00": 1}}
	res := Schedule(context.Background(), targets("e2e", 1), cp, ScheduleOptions{Parallel: 1, Deadline: time.Now().Add(time.Hour), Attempts: 3, RetryPause: 2 * time.Hour})
	if r := res[0]; r.State != Failed || r.Attempts != 1 {
		t.Fatalf("a retry that would start after the deadline: %+v", r)
	}
}
