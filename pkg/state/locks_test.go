package state

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/flock"
)

// The lock primitive itself (modes, deadlines, removal, the gate) is
// tested in pkg/flock; these tests check how a container's locks use it.

// waitingOn returns a channel closed when an Acquire starts waiting.
func waitingOn(t *testing.T) chan struct{} {
	ch := make(chan struct{})
	flock.WaitHook = func(*os.File) {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	t.Cleanup(func() { flock.WaitHook = nil })
	return ch
}

func bg() context.Context { return context.Background() }

// soon is a context for a call that must be held off: it gives up at
// once, and an error is what the test expects.
func soon(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(bg(), 5*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// within is a context for a call that must get its lock: a free lock is
// taken at the first try; the bound only ends a test whose lock is held
// for good (a short one would fail on a loaded machine that preempts the
// test between making the context and the call).
func within(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFreezeWaitsForExecsAndHoldsNewOnesOff(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	first, err := r.ExecLock(bg(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.ExecLock(bg(), "/run/runc", "c1") // execs share
	if err != nil {
		t.Fatal(err)
	}
	waiting := waitingOn(t)
	frozen := make(chan *flock.Lock, 1)
	go func() {
		l, err := r.FreezeLock(bg(), "/run/runc", "c1")
		if err != nil {
			t.Error(err)
		}
		frozen <- l
	}()
	<-waiting // the freeze waits for the execs
	// A waiting freeze holds new execs off: probes cannot starve it.
	if _, err := r.ExecLock(soon(t), "/run/runc", "c1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an exec while a freeze waits: %v, want held off", err)
	}
	first.Release()
	second.Release()
	held := <-frozen
	if _, err := r.ExecLock(soon(t), "/run/runc", "c1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an exec during the freeze: %v, want held off", err)
	}
	held.Release()
	late, err := r.ExecLock(within(t), "/run/runc", "c1")
	if err != nil {
		t.Fatalf("an exec after the freeze: %v", err)
	}
	late.Release()
}

func TestOtherContainersDoNotWait(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	held, err := r.FreezeLock(bg(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	l, err := r.ExecLock(within(t), "/run/runc", "c2")
	if err != nil {
		t.Fatalf("an exec into c2 waited for c1's freeze: %v", err)
	}
	l.Release()
	rl, err := r.Lock(within(t), "/run/runc", "c1")
	if err != nil {
		t.Fatalf("the record lock waited for the freeze lock: %v", err)
	}
	rl.Release()
}

// A freeze that cannot get in within its deadline gives up and lets execs
// in again: a hung exec must not hold everything for ever.
func TestFreezeGivesUpAtItsDeadline(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	hung, err := r.ExecLock(bg(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Release()
	if _, err := r.FreezeLock(soon(t), "/run/runc", "c1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FreezeLock past its deadline = %v", err)
	}
	next, err := r.ExecLock(within(t), "/run/runc", "c1")
	if err != nil {
		t.Fatalf("an exec after the freeze gave up: %v", err)
	}
	next.Release()
}

func TestRecordLockHasADeadline(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	l, err := r.Lock(bg(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(soon(t), "/run/runc", "c1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second record lock: %v, want the deadline", err)
	}
	if _, err := r.Lock(bg(), "/run/runc", "../c1"); !errors.Is(err, ErrBadID) {
		t.Fatalf("a lock for an id that is a path: %v", err)
	}
	p, _ := r.Path("/run/runc", "c1")
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("record lock file left: %v", err)
	}
}

// The freeze lock files go with the container, unless an exec still
// holds them (they are then left, never pulled from under it).
func TestRemoveFreezeLock(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	p, _ := r.Path("/run/runc", "c1")
	exec, err := r.ExecLock(bg(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveFreezeLock(soon(t), "/run/runc", "c1"); err == nil {
		t.Fatal("removed the freeze lock under an exec")
	}
	if _, err := os.Lstat(p + ".freeze.lock"); err != nil {
		t.Fatalf("freeze lock gone under an exec: %v", err)
	}
	exec.Release()
	if err := r.RemoveFreezeLock(within(t), "/run/runc", "c1"); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{".freeze.lock", ".gate.lock"} {
		if _, err := os.Lstat(p + suffix); !os.IsNotExist(err) {
			t.Fatalf("%s left: %v", suffix, err)
		}
	}
}

func TestEnabledMarkerFollowsTheRecords(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	for _, root := range []string{"/run/a", "/run/b"} {
		if err := r.Save(&Record{ID: "c1", Root: root, Key: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.MarkEnabled("c1"); err != nil {
		t.Fatal(err)
	}
	r.Remove("/run/a", "c1")
	if _, err := os.Stat(r.EnabledMarker("c1")); err != nil {
		t.Fatalf("the marker went while /run/b still has an enabled c1: %v", err)
	}
	r.Remove("/run/b", "c1")
	if _, err := os.Stat(r.EnabledMarker("c1")); !os.IsNotExist(err) {
		t.Fatalf("the marker outlives every c1: %v", err)
	}
	if err := r.MarkEnabled("../x"); err == nil {
		t.Fatal("a marker for an id that is a path")
	}
}
