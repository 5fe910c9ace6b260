// Package exitstatus learns how a container's task ended from containerd,
// which alone knows it: runc reports no exit status, and an OCI hook gets
// none. containerd publishes it in the /tasks/delete event of the task,
// right after `runc delete` (and so the poststop hook) has run: a watch
// subscribed from the hook, then left to wait, receives it.
package exitstatus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/typeurl/v2"
)

// ErrNoEvent: the task's delete event did not come in time.
var ErrNoEvent = errors.New("no task delete event from containerd")

// Watch waits for the delete event of one container's task.
type Watch struct {
	client *containerd.Client
	cancel context.CancelFunc
	events <-chan any // decoded events
	errs   <-chan error
	id     string
}

// Start subscribes to containerd (address: its socket) for the
// /tasks/delete events of namespace ns; Wait then returns the exit status
// of container id's task.
func Start(address, ns, id string) (*Watch, error) {
	c, err := containerd.New(address, containerd.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	evs, errs := c.Subscribe(ctx, `topic=="/tasks/delete",namespace==`+strconv.Quote(ns))
	out := make(chan any)
	go func() {
		defer close(out)
		for e := range evs {
			v, err := typeurl.UnmarshalAny(e.Event)
			if err != nil {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return &Watch{client: c, cancel: cancel, events: out, errs: errs, id: id}, nil
}

// Wait returns the exit status of the watched container's task from its
// delete event, within timeout.
func (w *Watch) Wait(timeout time.Duration) (int, error) {
	return waitForDelete(w.events, w.errs, w.id, timeout)
}

// waitForDelete reads decoded events until the delete event of container
// id's init task: the delete of an exec process (its ID is the exec's) and
// the events of other containers are skipped.
func waitForDelete(events <-chan any, errs <-chan error, id string, timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return 0, fmt.Errorf("%w: the subscription ended", ErrNoEvent)
			}
			if d, ok := e.(*apievents.TaskDelete); ok && d.ContainerID == id && (d.ID == "" || d.ID == id) {
				return int(d.ExitStatus), nil
			}
		case err := <-errs:
			if err != nil {
				return 0, fmt.Errorf("%w: %w", ErrNoEvent, err)
			}
		case <-t.C:
			return 0, fmt.Errorf("%w within %s", ErrNoEvent, timeout)
		}
	}
}

// Close ends the subscription.
func (w *Watch) Close() {
	w.cancel()
	w.client.Close()
}
