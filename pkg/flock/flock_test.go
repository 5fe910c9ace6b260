package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func lockPath(t *testing.T) Path {
	return Path(filepath.Join(t.TempDir(), "sub", "c1.lock"))
}

func TestModesExcludeAsFlockDoes(t *testing.T) {
	p := lockPath(t)
	s1, err := TryAcquire(p, Shared)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := TryAcquire(p, Shared)
	if err != nil {
		t.Fatalf("a second shared lock: %v", err)
	}
	if _, err := TryAcquire(p, Exclusive); !errors.Is(err, ErrBusy) {
		t.Fatalf("exclusive beside shared: %v, want ErrBusy", err)
	}
	s1.Release()
	s2.Release()
	s2.Release() // twice is harmless
	x, err := TryAcquire(p, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	for _, m := range []Mode{Shared, Exclusive} {
		if _, err := TryAcquire(p, m); !errors.Is(err, ErrBusy) {
			t.Fatalf("%s beside exclusive: %v, want ErrBusy", m, err)
		}
	}
}

func TestAcquireWaitsUntilTheContextEnds(t *testing.T) {
	p := lockPath(t)
	x, err := Acquire(context.Background(), p, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, p, Shared); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := Acquire(done, lockPath(t), Exclusive); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// A waiter is admitted as soon as the holder releases.
func TestAcquireGetsTheLockOnRelease(t *testing.T) {
	p := lockPath(t)
	x, _ := Acquire(context.Background(), p, Exclusive)
	waiting := make(chan struct{})
	setWaitHook(t, func(*os.File) { close(waiting) })
	got := make(chan error, 1)
	go func() {
		l, err := Acquire(context.Background(), p, Exclusive)
		if err == nil {
			defer l.Release()
		}
		got <- err
	}()
	<-waiting
	select {
	case err := <-got:
		t.Fatalf("acquired while held: %v", err)
	default:
	}
	x.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// The unlink race: a holder removes the lock file while another caller
// waits on it. The waiter then holds the lock of the file now at the name,
// never the unlinked one, so a third caller is excluded by it.
func TestRemoveWhileAnotherWaits(t *testing.T) {
	p := lockPath(t)
	x, _ := Acquire(context.Background(), p, Exclusive)
	waiting := make(chan struct{})
	setWaitHook(t, func(*os.File) {
		select {
		case <-waiting:
		default:
			close(waiting)
		}
	})
	got := make(chan *Lock, 1)
	go func() {
		l, err := Acquire(context.Background(), p, Exclusive)
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	<-waiting
	if err := x.Remove(); err != nil {
		t.Fatal(err)
	}
	w := <-got
	defer w.Release()
	if !p.Current(w.File()) {
		t.Fatal("the waiter holds the unlinked file")
	}
	if _, err := TryAcquire(p, Exclusive); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third caller got the lock beside the waiter: %v", err)
	}
}

// Many callers lock, work and sometimes remove the lock file: never two
// inside at once.
func TestExclusionSurvivesRemovals(t *testing.T) {
	p := lockPath(t)
	var inside, entries atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				l, err := Acquire(context.Background(), p, Exclusive)
				if err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d callers inside the lock", n)
				}
				entries.Add(1)
				inside.Add(-1)
				if (g+i)%5 == 0 {
					l.Remove()
				} else {
					l.Release()
				}
			}
		}(g)
	}
	wg.Wait()
	if entries.Load() != 8*150 {
		t.Fatalf("%d entries, want %d", entries.Load(), 8*150)
	}
}

func TestOnlyAnExclusiveHolderRemoves(t *testing.T) {
	p := lockPath(t)
	s, _ := Acquire(context.Background(), p, Shared)
	if err := s.Remove(); err == nil {
		t.Fatal("a shared holder removed the lock file")
	}
	s.Release()
	if _, err := os.Lstat(string(p)); err != nil {
		t.Fatalf("lock file gone: %v", err)
	}
	if err := s.Remove(); err == nil {
		t.Fatal("Remove of a released lock succeeded")
	}
}

// A symlink planted at the lock's name is never followed.
func TestPathRefusesASymlink(t *testing.T) {
	p := lockPath(t)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o644)
	os.MkdirAll(filepath.Dir(string(p)), 0o700)
	if err := os.Symlink(victim, string(p)); err != nil {
		t.Fatal(err)
	}
	if l, err := TryAcquire(p, Exclusive); err == nil {
		l.Release()
		t.Fatal("locked through a symlink")
	}
	if data, _ := os.ReadFile(victim); string(data) != "keep" {
		t.Fatalf("victim changed: %q", data)
	}
}

// Starvation: shared holders that keep overlapping (execs probing a
// container every few milliseconds) would keep a plain exclusive waiter
// out for as long as they come; the gate admits the exclusive one.
func TestGatedExclusiveIsNotStarvedByShared(t *testing.T) {
	dir := t.TempDir()
	g := Gated{Gate: Path(filepath.Join(dir, "c1.gate.lock")), Lock: Path(filepath.Join(dir, "c1.lock"))}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sharedTurns atomic.Int32
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l, err := AcquireGated(context.Background(), g, Shared)
				if err != nil {
					t.Error(err)
					return
				}
				sharedTurns.Add(1)
				time.Sleep(3 * time.Millisecond) // an exec's runc, briefly
				l.Release()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for sharedTurns.Load() < 20 { // the stream is flowing
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, err := AcquireGated(ctx, g, Exclusive)
	if err != nil {
		t.Fatalf("exclusive starved: %v", err)
	}
	if _, err := TryAcquire(g.Lock, Shared); !errors.Is(err, ErrBusy) {
		t.Fatalf("shared beside the gated exclusive: %v", err)
	}
	if _, err := TryAcquire(g.Gate, Shared); !errors.Is(err, ErrBusy) {
		t.Fatalf("the gate is open while exclusive is held: %v", err)
	}
	if err := x.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Target{g.Gate, g.Lock} {
		if _, err := os.Lstat(p.Name()); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left after Remove: %v", p.Name(), err)
		}
	}
}

// An exclusive taker that gives up lets the shared ones in again.
func TestGatedExclusiveThatGivesUpOpensTheGate(t *testing.T) {
	dir := t.TempDir()
	g := Gated{Gate: Path(filepath.Join(dir, "g")), Lock: Path(filepath.Join(dir, "l"))}
	s, err := AcquireGated(context.Background(), g, Shared)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := AcquireGated(ctx, g, Exclusive); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
	s2, err := TryAcquire(g.Gate, Shared)
	if err != nil {
		t.Fatalf("gate still closed: %v", err)
	}
	s2.Release()
}

func setWaitHook(t *testing.T, f func(*os.File)) {
	WaitHook = f
	t.Cleanup(func() { WaitHook = nil })
}
