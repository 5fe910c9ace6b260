package spot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBook collects a watcher's log lines.
type logBook struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBook) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBook) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

func TestWatcherHandlesTheFirstInterruptionOnly(t *testing.T) {
	f, srv := newFakeIMDS(t)
	f.set(func(f *fakeIMDS) { f.action = `{"action":"terminate","time":"2025-03-14T10:15:00Z"}` })
	var log logBook
	var calls int
	w := &Watcher{Client: testClient(t, f, srv.URL, time.Hour), Interval: time.Millisecond, Logf: log.logf,
		OnInterruption: func(_ context.Context, a InstanceAction) { calls++ }}
	ctx := context.Background()
	for range 5 {
		w.poll(ctx)
	}
	if calls != 1 {
		t.Fatalf("OnInterruption called %d times; want once", calls)
	}
	if log.count("spot interruption notice: terminate at 2025-03-14T10:15:00Z") != 1 {
		t.Fatalf("log: %q", log.lines)
	}
}

func TestWatcherRebalance(t *testing.T) {
	f, srv := newFakeIMDS(t)
	var log logBook
	var seen []time.Time
	var interrupted bool
	w := &Watcher{Client: testClient(t, f, srv.URL, time.Hour), Logf: log.logf,
		OnRebalance:    func(_ context.Context, r Rebalance) { seen = append(seen, r.NoticeTime) },
		OnInterruption: func(context.Context, InstanceAction) { interrupted = true }}
	ctx := context.Background()
	w.poll(ctx)
	f.set(func(f *fakeIMDS) { f.rebalance = `{"noticeTime":"2025-03-14T10:10:00Z"}` })
	w.poll(ctx)
	w.poll(ctx)
	f.set(func(f *fakeIMDS) { f.rebalance = `{"noticeTime":"2025-03-14T11:10:00Z"}` })
	w.poll(ctx)
	if len(seen) != 2 || interrupted {
		t.Fatalf("rebalance handled for %v (interrupted %v); want the two distinct notices only", seen, interrupted)
	}
	// After an interruption, a new recommendation is only logged.
	f.set(func(f *fakeIMDS) {
		f.action = `{"action":"terminate","time":"2025-03-14T12:00:00Z"}`
		f.rebalance = `{"noticeTime":"2025-03-14T11:30:00Z"}`
	})
	w.poll(ctx)
	if !interrupted || len(seen) != 2 || log.count("rebalance recommendation") != 3 {
		t.Fatalf("interrupted %v, rebalances handled %v, log %q", interrupted, seen, log.lines)
	}
}

func TestWatcherSurvivesTheServiceGoingAway(t *testing.T) {
	f, srv := newFakeIMDS(t)
	var log logBook
	got := make(chan InstanceAction, 1)
	w := &Watcher{Client: testClient(t, f, srv.URL, time.Hour), Interval: 5 * time.Millisecond, Logf: log.logf,
		OnInterruption: func(_ context.Context, a InstanceAction) { got <- a }}
	f.set(func(f *fakeIMDS) { f.down = true })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.After(10 * time.Second)
	for log.count("instance metadata service:") == 0 {
		select {
		case <-deadline:
			t.Fatal("no log line about the unreachable service")
		case <-time.After(5 * time.Millisecond):
		}
	}
	f.set(func(f *fakeIMDS) {
		f.down = false
		f.action = `{"action":"hibernate","time":"2025-03-14T10:15:00Z"}`
	})
	select {
	case a := <-got:
		if a.Action != "hibernate" {
			t.Fatalf("notice %+v", a)
		}
	case <-deadline:
		t.Fatal("the notice after the outage was not handled")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if n := log.count("instance metadata service:"); n != 1 {
		t.Fatalf("the outage was logged %d times; want once: %q", n, log.lines)
	}
	if log.count("reachable again") != 1 {
		t.Fatalf("the recovery was not logged: %q", log.lines)
	}
}
