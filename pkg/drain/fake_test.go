package drain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// fakeCheckpointer records what Schedule asks of it. Each checkpoint waits
// for its target's delay (or for release, when set), reports progress once,
// and fails for the ids in fail.
type fakeCheckpointer struct {
	delay map[string]time.Duration
	fail  map[string]bool
	gone  map[string]bool
	// transient: the first n checkpoints of an id fail leaving it running.
	transient map[string]int
	release   chan struct{} // when not nil, every checkpoint waits for it to close

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	started     []string
	ctxErrs     []error // ctx.Err() of each checkpoint when it ended
}

func (f *fakeCheckpointer) Checkpoint(ctx context.Context, t Target, progress func(int64)) (Image, error) {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.started = append(f.started, t.ID)
	f.mu.Unlock()
	progress(1234)
	if f.release != nil {
		<-f.release
	}
	time.Sleep(f.delay[t.ID])
	f.mu.Lock()
	f.inFlight--
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	f.mu.Unlock()
	if f.gone[t.ID] {
		return Image{}, fmt.Errorf("%w (process already finished)", ErrGone)
	}
	if f.fail[t.ID] {
		return Image{}, errors.New("dump failed for " + t.ID)
	}
	f.mu.Lock()
	left := f.transient[t.ID]
	if left > 0 {
		f.transient[t.ID] = left - 1
	}
	f.mu.Unlock()
	if left > 0 {
		return Image{}, fmt.Errorf("unable to freeze %s (%w)", t.ID, ErrStillRunning)
	}
	return Image{ID: "img-" + t.ID, Size: int64(len(t.ID)) * 1000}, nil
}

// recorder is an Observer that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Observe(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// phases lists the phases target index i went through.
func (r *recorder) phases(i int) []Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Phase
	for _, e := range r.events {
		if e.Index == i {
			out = append(out, e.Phase)
		}
	}
	return out
}

// targets returns n enabled targets c00, c01, ... in namespace ns.
func targets(ns string, n int) []Target {
	ts := make([]Target, n)
	for i := range ts {
		id := fmt.Sprintf("c%02d", i)
		ts[i] = Target{Namespace: ns, ID: id, Task: TaskRunning, Key: ns + "/" + id, Store: "/store"}
	}
	return ts
}
