package testbed

import (
	"io"
	"testing"
)

func TestHolds(t *testing.T) {
	n := 0
	if err := Holds(4*PollInterval, func() error { n++; return nil }); err != nil || n < 2 {
		t.Fatalf("Holds: %v after %d calls", err, n)
	}
	if err := Holds(PollInterval*4, func() error { return io.EOF }); err != io.EOF {
		t.Fatalf("Holds of a false condition: %v", err)
	}
	if err := Poll(PollInterval*2, func() error { return io.EOF }); err == nil {
		t.Fatal("Poll of a false condition succeeded")
	}
}
