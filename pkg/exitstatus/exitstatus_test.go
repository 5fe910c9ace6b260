package exitstatus

import (
	"errors"
	"testing"
	"time"

	apievents "github.com/containerd/containerd/api/events"
)

func TestWaitForDeleteTakesTheInitTaskOfTheContainer(t *testing.T) {
	events := make(chan any, 8)
	events <- &apievents.TaskExit{ContainerID: "job", ExitStatus: 9}                // not a delete
	events <- &apievents.TaskDelete{ContainerID: "other", ExitStatus: 7}            // another container
	events <- &apievents.TaskDelete{ContainerID: "job", ID: "exec1", ExitStatus: 5} // an exec process
	events <- &apievents.TaskDelete{ContainerID: "job", ID: "job", ExitStatus: 137}
	got, err := waitForDelete(events, nil, "job", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got != 137 {
		t.Fatalf("exit status %d, want 137 (the init task's)", got)
	}
}

func TestWaitForDeleteAcceptsAnEmptyProcessID(t *testing.T) {
	events := make(chan any, 1)
	events <- &apievents.TaskDelete{ContainerID: "job", ExitStatus: 0}
	if got, err := waitForDelete(events, nil, "job", 5*time.Second); err != nil || got != 0 {
		t.Fatalf("got %d, %v; want 0, nil", got, err)
	}
}

func TestWaitForDeleteReportsNoEvent(t *testing.T) {
	closed := make(chan any)
	close(closed)
	if _, err := waitForDelete(closed, nil, "job", 5*time.Second); !errors.Is(err, ErrNoEvent) {
		t.Fatalf("closed subscription: %v, want ErrNoEvent", err)
	}
	errs := make(chan error, 1)
	errs <- errors.New("connection reset")
	if _, err := waitForDelete(make(chan any), errs, "job", 5*time.Second); !errors.Is(err, ErrNoEvent) {
		t.Fatalf("subscription error: %v, want ErrNoEvent", err)
	}
	if _, err := waitForDelete(make(chan any), nil, "job", time.Millisecond); !errors.Is(err, ErrNoEvent) {
		t.Fatalf("timeout: %v, want ErrNoEvent", err)
	}
}
