package drain

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

const mib = 1 << 20

func bytesOf(n int64) *int64 { return &n }

// usage is a container of namespace e2e with known memory and layer.
func usage(id, store string, mem, layer int64) ContainerUsage {
	return ContainerUsage{Namespace: "e2e", ID: id, Key: "e2e/" + id, Store: store, MemoryBytes: bytesOf(mem), LayerBytes: bytesOf(layer)}
}

func near(a, b time.Duration) bool { return math.Abs(float64(a-b)) < float64(time.Millisecond) }

func TestComputeArithmetic(t *testing.T) {
	cs := []ContainerUsage{usage("a", "/s", 150*mib, 50*mib), usage("b", "/s", 50*mib, 0)}
	e := Compute(cs, []StoreProbe{{Path: "/s", BytesPerSecond: 100 * mib}}, 3, 4, 2, 110*time.Second)
	// 250 MiB at 100 MiB/s, then one round (2 containers, 2 lanes) of the fixed cost.
	if e.TotalBytes != 250*mib || !near(e.Write.Duration(), 2500*time.Millisecond) || e.Lanes != 2 || e.Rounds != 1 {
		t.Fatalf("bytes %d write %v lanes %d rounds %d", e.TotalBytes, e.Write.Duration(), e.Lanes, e.Rounds)
	}
	if !near(e.Estimated.Duration(), 2500*time.Millisecond+PerContainerCost) || e.Verdict != Fits || e.Skipped != 3 {
		t.Fatalf("estimated %v verdict %s skipped %d", e.Estimated.Duration(), e.Verdict, e.Skipped)
	}
	if s := e.Stores[0]; s.Containers != 2 || s.Bytes != 250*mib {
		t.Fatalf("store %+v", s)
	}
}

// TestComputeMatchesTheBenchmark: `make bench` of 2026-12-05 (2 CPUs, a
// store measured at 339 MiB/s): checkpoint-all of 20 x 64 MiB took 5.45 s
// with --parallel 1, 4.12 s with 2, 4.43 s with 4 and 4.44 s with 8; of
// 200 x 4 MiB (809 MiB of archives, zstd), 26.1 s with 4. The estimate is
// never below the measure, and at most 70% above it.
func TestComputeMatchesTheBenchmark(t *testing.T) {
	fleet := func(n int, each int64) []ContainerUsage {
		var cs []ContainerUsage
		for i := range n {
			cs = append(cs, usage(fmt.Sprint(i), "/s", each, 0))
		}
		return cs
	}
	store := []StoreProbe{{Path: "/s", BytesPerSecond: 339 * mib}}
	for _, tc := range []struct {
		cs       []ContainerUsage
		parallel int
		measured time.Duration
		lanes    int
	}{
		{fleet(20, 64*mib), 1, 5450 * time.Millisecond, 1},
		{fleet(20, 64*mib), 2, 4120 * time.Millisecond, 2},
		{fleet(20, 64*mib), 4, 4430 * time.Millisecond, 2}, // at most 1 per CPU
		{fleet(20, 64*mib), 8, 4440 * time.Millisecond, 2},
		{fleet(200, 809*mib/200), 4, 26100 * time.Millisecond, 2},
	} {
		e := Compute(tc.cs, store, 0, tc.parallel, 2, time.Minute)
		got := e.Estimated.Duration()
		if e.Lanes != tc.lanes || got < tc.measured || got > tc.measured*17/10 {
			t.Errorf("%d containers, --parallel %d: %d lanes, estimated %v; measured %v", len(tc.cs), tc.parallel, e.Lanes, got, tc.measured)
		}
	}
}

func TestComputeVerdicts(t *testing.T) {
	one := []StoreProbe{{Path: "/s", BytesPerSecond: 100 * mib}}
	for _, tc := range []struct {
		name     string
		cs       []ContainerUsage
		stores   []StoreProbe
		deadline time.Duration
		want     Verdict
		unknown  string // in Unknown
	}{
		{"fits", []ContainerUsage{usage("a", "/s", 100*mib, 0)}, one, 2 * time.Second, Fits, ""},
		// 1 s of writing + 0.3 s > 1.2 s
		{"does not fit", []ContainerUsage{usage("a", "/s", 100*mib, 0)}, one, 1200 * time.Millisecond, DoesNotFit, ""},
		{"exactly the deadline fits", []ContainerUsage{usage("a", "/s", 100*mib, 0)}, one, time.Second + PerContainerCost, Fits, ""},
		{"memory unknown, the rest fits",
			[]ContainerUsage{{Namespace: "e2e", ID: "m", Store: "/s", MemoryError: "no cgroup", LayerBytes: bytesOf(0)}},
			one, time.Minute, CannotTell, "memory of e2e/m: no cgroup"},
		{"layer unknown, the rest fits",
			[]ContainerUsage{{Namespace: "e2e", ID: "l", Store: "/s", MemoryBytes: bytesOf(mib), LayerError: "walk: not done within 5s"}},
			one, time.Minute, CannotTell, "writable layer of e2e/l: walk: not done within 5s"},
		{"unknown, and what is known already does not fit",
			[]ContainerUsage{usage("a", "/s", 1000*mib, 0), {Namespace: "e2e", ID: "m", Store: "/s", MemoryError: "gone", LayerBytes: bytesOf(0)}},
			one, 5 * time.Second, DoesNotFit, "memory of e2e/m"},
		{"bandwidth unknown",
			[]ContainerUsage{usage("a", "/nfs", mib, 0)}, []StoreProbe{{Path: "/nfs", Error: "not done within 20s"}},
			time.Minute, CannotTell, "write bandwidth of store /nfs: not done within 20s"},
		{"nothing to checkpoint", nil, nil, time.Second, Fits, ""},
	} {
		e := Compute(tc.cs, tc.stores, 0, 4, 2, tc.deadline)
		if e.Verdict != tc.want {
			t.Errorf("%s: verdict %s (estimated %v); want %s", tc.name, e.Verdict, e.Estimated.Duration(), tc.want)
		}
		if u := strings.Join(e.Unknown, "\n"); !strings.Contains(u, tc.unknown) || (tc.unknown == "") != (u == "") {
			t.Errorf("%s: unknown %q; want %q", tc.name, u, tc.unknown)
		}
	}
}

func TestComputeSeveralStores(t *testing.T) {
	cs := []ContainerUsage{usage("a", "/fast", 200*mib, 0), usage("b", "/slow", 10*mib, 0), usage("c", "/fast", 0, 0)}
	stores := []StoreProbe{{Path: "/fast", BytesPerSecond: 400 * mib}, {Path: "/slow", BytesPerSecond: 10 * mib}}
	e := Compute(cs, stores, 0, 1, 2, time.Minute)
	// 0.5 s + 1 s (added up: conservative), then 3 rounds of one.
	if !near(e.Write.Duration(), 1500*time.Millisecond) || e.Rounds != 3 {
		t.Fatalf("write %v rounds %d", e.Write.Duration(), e.Rounds)
	}
	if e.Stores[0].Containers != 2 || e.Stores[1].Containers != 1 {
		t.Fatalf("stores %+v", e.Stores)
	}
}

func TestComputeWarnsOfAFullStore(t *testing.T) {
	free := int64(50 * mib)
	e := Compute([]ContainerUsage{usage("a", "/s", 100*mib, 0)}, []StoreProbe{{Path: "/s", BytesPerSecond: 100 * mib, FreeBytes: &free}}, 0, 1, 1, time.Minute)
	if len(e.Warnings) != 1 || !strings.Contains(e.Warnings[0], "store /s has 50.0 MiB free, less than the 100.0 MiB") {
		t.Fatalf("warnings %q", e.Warnings)
	}
	if e.Verdict != Fits {
		t.Fatalf("verdict %s: compression may still make it fit, the warning says so", e.Verdict)
	}
}
