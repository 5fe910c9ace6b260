package testbed

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// PollInterval is the pause between two tries of a polled condition.
const PollInterval = 50 * time.Millisecond

// Poll calls cond until it returns nil or timeout passes; it then returns
// the last error. Every wait in the test bed is a Poll with a deadline.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still false after %v: %w", timeout, err)
		}
		time.Sleep(PollInterval)
	}
}

// Eventually fails the test unless cond returns nil within timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatal(err)
	}
}

// errKeepGoing makes Holds' poll continue while the condition still holds.
var errKeepGoing = errors.New("condition still holds")

// Holds checks cond repeatedly (every PollInterval) for the whole duration
// and returns the first error it gives: "stays true", the dual of Poll.
func Holds(duration time.Duration, cond func() error) error {
	var failed error
	_ = Poll(duration, func() error {
		if err := cond(); err != nil {
			failed = err
			return nil // stop polling
		}
		return errKeepGoing
	})
	return failed
}
