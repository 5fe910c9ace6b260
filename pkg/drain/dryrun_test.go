package drain

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/saferoot"
	"github.com/arch-ckpt/arch/pkg/state"
)

// dryRunNode has records for e2e/a and e2e/b (store /s1) and batch/c
// (store /s2), under runc root /r.
func dryRunNode(t *testing.T) Node {
	t.Helper()
	dir := t.TempDir()
	n := Node{Allowed: saferoot.Allowed{Store: filepath.Join(dir, "store")}, StateDir: filepath.Join(dir, "state")}
	for _, r := range []*state.Record{
		{ID: "a", Root: "/r/e2e", Namespace: "e2e", Key: "k/a", Store: "/s1"},
		{ID: "b", Root: "/r/e2e", Namespace: "e2e", Key: "k/b", Store: "/s1"},
		{ID: "c", Root: "/r/batch", Namespace: "batch", Key: "k/c", Store: "/s2"},
	} {
		if err := (state.Records{Dir: filepath.Join(n.StateDir, "containers")}).Save(r); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// fakeMeters answers for pids 100 (a), 200 (b), 300 (c) and counts calls.
type fakeMeters struct {
	mu     sync.Mutex
	pids   []int
	probed []string
}

func (f *fakeMeters) memory(pid int) (Memory, error) {
	f.mu.Lock()
	f.pids = append(f.pids, pid)
	f.mu.Unlock()
	if pid == 300 {
		return Memory{}, errors.New("no cgroup")
	}
	return Memory{Bytes: int64(pid) * mib, Source: "fake"}, nil
}

func (f *fakeMeters) layer(_ context.Context, pid int) (Layer, error) {
	return Layer{Upper: fmt.Sprintf("/upper/%d", pid), Bytes: mib, Files: 2}, nil
}

func (f *fakeMeters) probe(_ context.Context, store string) (Bandwidth, error) {
	f.mu.Lock()
	f.probed = append(f.probed, store)
	f.mu.Unlock()
	if store == "/s2" {
		return Bandwidth{Free: -1}, errors.New("refused")
	}
	return Bandwidth{Bytes: 64 * mib, Took: 200 * time.Millisecond, Free: 1 << 40}, nil
}

func TestDryRunMeasuresWhatRunWouldCheckpoint(t *testing.T) {
	n := dryRunNode(t)
	enabled := specWith("ARCH_ENABLE=1")
	src := fakeSource{cands: []Candidate{
		{Namespace: "e2e", ID: "b", Runtime: RuncV2, RuncRoot: "/r", Spec: enabled, Task: TaskPaused, Pid: 200},
		{Namespace: "e2e", ID: "a", Runtime: RuncV2, RuncRoot: "/r", Spec: enabled, Task: TaskRunning, Pid: 100},
		{Namespace: "batch", ID: "c", Runtime: RuncV2, RuncRoot: "/r", Spec: enabled, Task: TaskRunning, Pid: 300},
		{Namespace: "e2e", ID: "plain", Runtime: RuncV2, RuncRoot: "/r", Spec: specWith(), Task: TaskRunning, Pid: 400},
		{Namespace: "e2e", ID: "norecord", Runtime: RuncV2, RuncRoot: "/r", Spec: enabled, Task: TaskRunning, Pid: 500},
		{Namespace: "e2e", ID: "a-stopped", Runtime: RuncV2, RuncRoot: "/r", Spec: enabled, Task: "stopped"},
	}}
	m := &fakeMeters{}
	e, err := DryRun(context.Background(), src, DryRunOptions{Node: n, Parallel: 4, Deadline: time.Minute, CPUs: 2,
		Memory: m.memory, Layer: m.layer, Probe: m.probe})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range e.Containers {
		names = append(names, c.Name()+"@"+c.Store)
	}
	if want := []string{"batch/c@/s2", "e2e/a@/s1", "e2e/b@/s1"}; !slices.Equal(names, want) {
		t.Fatalf("containers %v; want %v (Run's selection and order)", names, want)
	}
	if e.Skipped != 3 || !slices.Equal(m.pids, []int{300, 100, 200}) {
		t.Fatalf("skipped %d, measured pids %v", e.Skipped, m.pids)
	}
	if !slices.Equal(m.probed, []string{"/s2", "/s1"}) {
		t.Fatalf("probed %v; want each store once", m.probed)
	}
	a := e.Containers[1]
	if *a.MemoryBytes != 100*mib || *a.LayerBytes != mib || a.LayerDir != "/upper/100" || a.Key != "k/a" || a.Pid != 100 {
		t.Fatalf("e2e/a: %+v", a)
	}
	if c := e.Containers[0]; c.MemoryBytes != nil || c.MemoryError != "no cgroup" {
		t.Fatalf("batch/c: %+v", c)
	}
	s1, s2 := e.Stores[1], e.Stores[0]
	if s1.Path != "/s1" || s1.BytesPerSecond != 320*mib || s1.Containers != 2 || s1.Bytes != 302*mib || *s1.FreeBytes != 1<<40 {
		t.Fatalf("store /s1: %+v", s1)
	}
	if s2.BytesPerSecond != 0 || s2.Error != "refused" || s2.FreeBytes != nil {
		t.Fatalf("store /s2: %+v", s2)
	}
	if e.Verdict != CannotTell || len(e.Unknown) != 2 {
		t.Fatalf("verdict %s, unknown %q", e.Verdict, e.Unknown)
	}
}

func TestDryRunStopsOnItsContext(t *testing.T) {
	n := dryRunNode(t)
	src := fakeSource{cands: []Candidate{
		{Namespace: "e2e", ID: "a", Runtime: RuncV2, RuncRoot: "/r", Spec: specWith("ARCH_ENABLE=1"), Task: TaskRunning, Pid: 100},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	m := &fakeMeters{}
	_, err := DryRun(ctx, src, DryRunOptions{Node: n, Deadline: time.Minute, Memory: m.memory, Layer: m.layer,
		Probe: func(ctx context.Context, s string) (Bandwidth, error) { cancel(); return Bandwidth{}, ctx.Err() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted dry run: %v", err)
	}
	if _, err := DryRun(context.Background(), fakeSource{err: errors.New("containerd is gone")}, DryRunOptions{Node: n}); err == nil {
		t.Fatal("a listing error was not returned")
	}
}
