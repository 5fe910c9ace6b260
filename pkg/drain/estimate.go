package drain

import (
	"fmt"
	"time"
)

// PerContainerCost is what one checkpoint costs beyond writing its bytes
// to the store, in CPU time: the freeze, CRIU's dump into local staging,
// sha256 and zstd, containerd's and runc's round trips, the kill. The
// archive is written during the dump, so the bytes and this part overlap;
// adding them is conservative. Source: `make bench` of 2026-12-05 (hack/bench
// drain, 2 CPUs, both 97% busy): checkpoint-all of 200 containers of 4 MiB
// took 26.1 s with --parallel 4, 809 MiB of archives, so (26.1 s - 809/339
// s) x 2 CPUs / 200 = 0.237 s of CPU per container, rounded up here. (The
// estimate before the archive was streamed used 0.3 s per round of
// --parallel containers, which said 15 s for that drain.)
const PerContainerCost = 260 * time.Millisecond

// Verdict tells whether a drain fits its deadline.
type Verdict string

// Verdicts.
const (
	Fits       Verdict = "fits"
	DoesNotFit Verdict = "does-not-fit"
	// CannotTell: something could not be measured and what was measured
	// fits; the estimate is a lower bound.
	CannotTell Verdict = "unknown"
)

// Seconds is a duration in seconds (JSON numbers people and scripts read).
type Seconds float64

func seconds(d time.Duration) Seconds { return Seconds(d.Seconds()) }

// Duration is s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// ContainerUsage is what a dry run measured of one container it would
// checkpoint. A nil byte count is unknown (its Error says why).
type ContainerUsage struct {
	Namespace    string `json:"namespace"`
	ID           string `json:"id"`
	Key          string `json:"key"`
	Store        string `json:"store"`
	Pid          int    `json:"pid,omitempty"`
	MemoryBytes  *int64 `json:"memoryBytes"`
	MemorySource string `json:"memorySource,omitempty"`
	MemoryError  string `json:"memoryError,omitempty"`
	LayerBytes   *int64 `json:"layerBytes"`
	LayerFiles   int64  `json:"layerFiles,omitempty"`
	LayerDir     string `json:"layerDir,omitempty"`
	LayerNote    string `json:"layerNote,omitempty"`
	LayerError   string `json:"layerError,omitempty"`
}

// Name is "namespace/id".
func (c ContainerUsage) Name() string { return c.Namespace + "/" + c.ID }

// bytes is what its checkpoint writes, as far as it is known.
func (c ContainerUsage) bytes() int64 {
	var n int64
	for _, p := range []*int64{c.MemoryBytes, c.LayerBytes} {
		if p != nil {
			n += *p
		}
	}
	return n
}

// StoreProbe is one store the containers would be checkpointed to, and its
// measured write bandwidth (0 when unknown: Error says why).
type StoreProbe struct {
	Path           string  `json:"path"`
	Containers     int     `json:"containers"`
	Bytes          int64   `json:"bytes"` // the known bytes of its containers
	FreeBytes      *int64  `json:"freeBytes,omitempty"`
	ProbeBytes     int64   `json:"probeBytes,omitempty"`
	ProbeSeconds   Seconds `json:"probeSeconds,omitempty"`
	BytesPerSecond float64 `json:"bytesPerSecond"`
	Error          string  `json:"error,omitempty"`
}

// Estimate is the outcome of `checkpoint-all --dry-run`: what a drain
// would write and how long it would take, against the deadline.
type Estimate struct {
	Started    time.Time        `json:"started"`
	Deadline   Seconds          `json:"deadlineSeconds"`
	Parallel   int              `json:"parallel"`
	Lanes      int              `json:"lanes"` // checkpoints the estimate runs at once
	Containers []ContainerUsage `json:"containers"`
	Skipped    int              `json:"skipped"` // containers the drain would not checkpoint
	Stores     []StoreProbe     `json:"stores"`
	TotalBytes int64            `json:"totalBytes"`
	// Estimated = Write + Rounds x PerContainer.
	Write        Seconds `json:"writeSeconds"`
	Rounds       int     `json:"rounds"`
	PerContainer Seconds `json:"perContainerSeconds"`
	Estimated    Seconds `json:"estimatedSeconds"`
	Verdict      Verdict `json:"verdict"`
	// Unknown lists what could not be measured (the estimate then leaves
	// it out: it is a lower bound); Warnings what else may go wrong.
	Unknown  []string `json:"unknown,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Compute estimates a drain of containers into stores (one entry per
// distinct store the containers name, with its probe; Compute fills in
// their Containers and Bytes) with parallel checkpoints at once on cpus
// CPUs, against deadline:
//
//	estimated = sum over stores of (bytes / bandwidth)
//	          + ceil(containers / lanes) x PerContainerCost
//	lanes     = min(parallel, CPUs, containers)
//
// A store's bytes are written one after the other whatever the
// parallelism: the checkpoints share its bandwidth. The fixed part of each
// checkpoint is CPU work: checkpoints overlap it at most one per CPU.
// Checked against the benchmarks (TestComputeMatchesTheBenchmark): never
// below what was measured, at most 70% above it (a sequential drain,
// whose archive writes overlap its dumps most). Several stores are added
// up, as if their writes did not overlap (conservative). Bytes are
// uncompressed: zstd shrinks memory that compresses, so compressible
// workloads drain faster than this.
//
// The verdict is DoesNotFit when the estimate exceeds the deadline (also
// when something is unknown: the estimate is then a lower bound),
// CannotTell when something is unknown and the rest fits, else Fits.
// The real run stops starting checkpoints at the deadline and lets the
// running ones finish; the estimate is compared as if all had to be done
// by then.
func Compute(containers []ContainerUsage, stores []StoreProbe, skipped, parallel, cpus int, deadline time.Duration) *Estimate {
	e := &Estimate{Deadline: seconds(deadline), Parallel: parallel, Containers: containers, Skipped: skipped,
		PerContainer: seconds(PerContainerCost)}
	byPath := map[string]int{}
	for i := range stores {
		stores[i].Containers, stores[i].Bytes = 0, 0
		byPath[stores[i].Path] = i
	}
	for _, c := range containers {
		n := c.bytes()
		e.TotalBytes += n
		if c.MemoryBytes == nil {
			e.Unknown = append(e.Unknown, fmt.Sprintf("memory of %s: %s", c.Name(), c.MemoryError))
		}
		if c.LayerBytes == nil {
			e.Unknown = append(e.Unknown, fmt.Sprintf("writable layer of %s: %s", c.Name(), c.LayerError))
		}
		i, ok := byPath[c.Store]
		if !ok {
			stores = append(stores, StoreProbe{Path: c.Store, Error: "not probed"})
			i = len(stores) - 1
			byPath[c.Store] = i
		}
		stores[i].Containers++
		stores[i].Bytes += n
	}
	var write time.Duration
	for _, s := range stores {
		if s.Containers == 0 {
			continue
		}
		if s.FreeBytes != nil && *s.FreeBytes < s.Bytes {
			e.Warnings = append(e.Warnings, fmt.Sprintf("store %s has %s free, less than the %s its checkpoints may write (uncompressed)",
				s.Path, formatSize(*s.FreeBytes), formatSize(s.Bytes)))
		}
		if s.BytesPerSecond <= 0 {
			e.Unknown = append(e.Unknown, fmt.Sprintf("write bandwidth of store %s: %s", s.Path, s.Error))
			continue
		}
		write += time.Duration(float64(s.Bytes) / s.BytesPerSecond * float64(time.Second))
	}
	e.Stores = stores
	e.Lanes = min(max(parallel, 1), max(cpus, 1), max(len(containers), 1))
	e.Rounds = (len(containers) + e.Lanes - 1) / e.Lanes
	e.Write = seconds(write)
	e.Estimated = seconds(write + time.Duration(e.Rounds)*PerContainerCost)
	switch {
	case e.Estimated.Duration() > deadline:
		e.Verdict = DoesNotFit
	case len(e.Unknown) > 0:
		e.Verdict = CannotTell
	default:
		e.Verdict = Fits
	}
	return e
}
