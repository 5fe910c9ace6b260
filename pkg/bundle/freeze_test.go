package bundle

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// blocked is how long a lock call must stay blocked to count as waiting.
const blocked = 100 * time.Millisecond

// async runs take in a goroutine and returns a channel that yields its
// files once it got them.
func async(t *testing.T, take func() ([]*os.File, error)) chan []*os.File {
	done := make(chan []*os.File, 1)
	go func() {
		files, err := take()
		if err != nil {
			t.Error(err)
		}
		done <- files
	}()
	return done
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func TestFreezeWaitsForExecsAndHoldsNewOnesOff(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	exec := func() ([]*os.File, error) {
		f, err := r.ExecLock(context.Background(), "/run/runc", "c1")
		return []*os.File{f}, err
	}
	freeze := func() ([]*os.File, error) { return r.FreezeLock(context.Background(), "/run/runc", "c1") }

	first, err := exec()
	if err != nil {
		t.Fatal(err)
	}
	second, err := exec() // execs share
	if err != nil {
		t.Fatal(err)
	}
	frozen := async(t, freeze)
	select {
	case <-frozen:
		t.Fatal("a freeze got its lock while execs were under way")
	case <-time.After(blocked):
	}
	// A waiting freeze holds new execs off: probes cannot starve it.
	late := async(t, exec)
	select {
	case <-late:
		t.Fatal("an exec got in while a freeze was waiting")
	case <-time.After(blocked):
	}
	closeAll(first)
	closeAll(second)
	var held []*os.File
	select {
	case held = <-frozen:
	case <-time.After(10 * time.Second):
		t.Fatal("the freeze never got its lock after the execs ended")
	}
	select {
	case <-late:
		t.Fatal("an exec got in during the freeze")
	case <-time.After(blocked):
	}
	closeAll(held)
	select {
	case files := <-late:
		closeAll(files)
	case <-time.After(10 * time.Second):
		t.Fatal("the exec never got in after the freeze")
	}
}

func TestOtherContainersDoNotWait(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	held, err := r.FreezeLock(context.Background(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(held)
	done := async(t, func() ([]*os.File, error) {
		f, err := r.ExecLock(context.Background(), "/run/runc", "c2")
		return []*os.File{f}, err
	})
	select {
	case files := <-done:
		closeAll(files)
	case <-time.After(10 * time.Second):
		t.Fatal("an exec into another container waited for c1's freeze")
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
	r.RemoveLock("/run/a", "c1")
	if _, err := os.Stat(r.EnabledMarker("c1")); err != nil {
		t.Fatalf("the marker went while /run/b still has an enabled c1: %v", err)
	}
	r.Remove("/run/b", "c1")
	r.RemoveLock("/run/b", "c1")
	if _, err := os.Stat(r.EnabledMarker("c1")); !os.IsNotExist(err) {
		t.Fatalf("the marker outlives every c1: %v", err)
	}
	if err := r.MarkEnabled("../x"); err == nil {
		t.Fatal("a marker for an id that is a path")
	}
}

// A freeze that cannot get in within its deadline gives up and lets execs
// in again: a hung exec must not hold everything for ever.
func TestFreezeGivesUpAtItsDeadline(t *testing.T) {
	r := Records{Dir: t.TempDir() + "/containers"}
	hung, err := r.ExecLock(context.Background(), "/run/runc", "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := r.FreezeLock(ctx, "/run/runc", "c1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FreezeLock past its deadline = %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	next, err := r.ExecLock(ctx2, "/run/runc", "c1")
	if err != nil {
		t.Fatalf("an exec after the freeze gave up: %v", err)
	}
	next.Close()
}
