// Package e2e holds ARCH's end-to-end tests: real containerd, runc and CRIU
// driven through ctr. See internal/testbed for how to run them.
package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/internal/testbed"
)

func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// ns is the containerd namespace of every test container.
const ns = "e2e"

// Deadlines of the polls (generous: shared, noisy machines).
const (
	statusTimeout = 30 * time.Second
	countTimeout  = 15 * time.Second
	// frozenFor is how long a paused counter must keep its value: several
	// of its 100 ms ticks.
	frozenFor = 800 * time.Millisecond
)

// node starts a private containerd with both workload images imported.
func node(t *testing.T, name string, opts ...testbed.Option) *testbed.Instance {
	t.Helper()
	testbed.Require(t)
	in := testbed.Start(t, name, opts...)
	for _, img := range []testbed.Image{testbed.ShellCounterImage(t), testbed.CCounterImage(t)} {
		if err := in.Import(ns, img); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// countAbove polls until the counter of id shows more than n, and returns it.
func countAbove(in *testbed.Instance, id string, n int) (int, error) {
	var got int
	err := testbed.Poll(countTimeout, func() error {
		c, err := in.ReadCount(ns, id)
		if err != nil {
			return err
		}
		if c <= n {
			return fmt.Errorf("%s: count %d, waiting for more than %d", id, c, n)
		}
		got = c
		return nil
	})
	return got, err
}

// mustCountAbove is countAbove failing the test.
func mustCountAbove(t *testing.T, in *testbed.Instance, id string, n int) int {
	t.Helper()
	c, err := countAbove(in, id, n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// frozen reports whether a paused counter keeps its value for frozenFor
// (read from the host: exec is refused in a paused task).
func frozen(in *testbed.Instance, id string) error {
	first, err := in.ReadCountHost(ns, id)
	if err != nil {
		return err
	}
	return testbed.Holds(frozenFor, func() error {
		c, err := in.ReadCountHost(ns, id)
		if err != nil {
			return err
		}
		if c != first {
			return fmt.Errorf("%s: paused count moved from %d to %d", id, first, c)
		}
		return nil
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
