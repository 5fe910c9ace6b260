// Package exitstatus learns how a container's task ended from containerd,
// which alone knows it: runc reports no exit status, and an OCI hook gets
// none. containerd publishes it in the /tasks/delete event of the task,
// right after `runc delete` (and so the poststop hook) has run: a watch
// subscribed from the hook, then left to wait, receives it.
package exitstatus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	apievents "github.com/containerd/containerd/api/events"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
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
// of container id's task. It returns once containerd has the subscription
// (Live): the client's Subscribe returns before its stream reaches the
// server, and a delete event published meanwhile would be lost.
func Start(address, ns, id string) (*Watch, error) {
	c, err := containerd.New(address, containerd.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	ctx, cancel := context.WithCancel(namespaces.WithNamespace(context.Background(), ns))
	probe := probeTopic()
	evs, errs := c.Subscribe(ctx, `topic=="/tasks/delete",namespace==`+strconv.Quote(ns), `topic==`+strconv.Quote(probe))
	out := make(chan any)
	live := make(chan struct{})
	go func() {
		defer close(out)
		for e := range evs {
			if e.Topic == probe {
				select {
				case <-live:
				default:
					close(live)
				}
				continue
			}
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
	w := &Watch{client: c, cancel: cancel, events: out, errs: errs, id: id}
	if err := w.waitLive(ctx, probe, live); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// liveWait bounds the wait for containerd to have the subscription, and
// probeEvery is how often the probe is published meanwhile.
const (
	liveWait   = 5 * time.Second
	probeEvery = 20 * time.Millisecond
)

// waitLive publishes a probe event on the watch's own topic until the
// subscription receives one: from then on containerd delivers it every
// delete event. A probe published before the subscription reached the
// server is lost, hence the repeats.
func (w *Watch) waitLive(ctx context.Context, probe string, live <-chan struct{}) error {
	deadline := time.NewTimer(liveWait)
	defer deadline.Stop()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		// A registered event type; its container ID is the probe's own,
		// which no container has.
		if err := w.client.EventService().Publish(ctx, probe, &apievents.TaskDelete{ContainerID: probe}); err != nil {
			return fmt.Errorf("publish the subscription's probe: %w", err)
		}
		select {
		case <-live:
			return nil
		case err := <-w.errs:
			return fmt.Errorf("subscribe to containerd's events: %w", err)
		case <-deadline.C:
			return fmt.Errorf("containerd did not deliver the subscription's probe within %s", liveWait)
		case <-tick.C:
		}
	}
}

// probeTopic is a topic of this watch alone.
func probeTopic() string {
	var b [8]byte
	rand.Read(b[:])
	return "/arch/exit-watch/" + hex.EncodeToString(b[:])
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
