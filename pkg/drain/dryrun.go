package drain

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// DryRunOptions of a DryRun. The measuring functions are the real ones
// when nil (tests replace them).
type DryRunOptions struct {
	Namespaces []string // only these (all when empty)
	Node       Node
	Parallel   int
	Deadline   time.Duration
	CPUs       int // 0: this machine's

	Memory func(pid int) (Memory, error)                              // ContainerMemory
	Layer  func(ctx context.Context, pid int) (Layer, error)          // ContainerLayer, DefaultLayerWalkTimeout
	Probe  func(ctx context.Context, store string) (Bandwidth, error) // ProbeStore below Node.Allowed, default bounds
}

// DryRun estimates a drain without checkpointing anything: it selects the
// containers exactly as Run does (Select), measures the memory and the
// writable layer of each one Run would checkpoint, probes the write
// bandwidth of each distinct store they name (one after the other: probes
// of one device would share it), and computes the estimate (Compute).
// Listing errors and the end of ctx are returned; what cannot be measured
// is reported in the estimate.
func DryRun(ctx context.Context, src Source, o DryRunOptions) (*Estimate, error) {
	started := time.Now()
	o = o.withDefaults()
	targets, err := Select(ctx, src, o.Namespaces, o.Node)
	if err != nil {
		return nil, err
	}
	var cs []ContainerUsage
	var stores []StoreProbe
	seen := map[string]bool{}
	skipped := 0
	for _, t := range targets {
		if t.Skip != "" {
			skipped++
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("checkpoint-all --dry-run: %w", err)
		}
		cs = append(cs, measure(ctx, t, o))
		if !seen[t.Store] {
			seen[t.Store] = true
			stores = append(stores, StoreProbe{Path: t.Store})
		}
	}
	for i := range stores {
		bw, err := o.Probe(ctx, stores[i].Path)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("checkpoint-all --dry-run: %w", ctx.Err())
		}
		if bw.Free >= 0 {
			stores[i].FreeBytes = &bw.Free
		}
		if err != nil {
			stores[i].Error = err.Error()
			continue
		}
		stores[i].ProbeBytes, stores[i].ProbeSeconds, stores[i].BytesPerSecond = bw.Bytes, seconds(bw.Took), bw.PerSecond()
	}
	e := Compute(cs, stores, skipped, o.Parallel, o.CPUs, o.Deadline)
	e.Started = started
	return e, nil
}

func (o DryRunOptions) withDefaults() DryRunOptions {
	if o.CPUs <= 0 {
		o.CPUs = runtime.NumCPU()
	}
	if o.Memory == nil {
		o.Memory = ContainerMemory
	}
	if o.Layer == nil {
		o.Layer = func(ctx context.Context, pid int) (Layer, error) {
			return ContainerLayer(ctx, pid, DefaultLayerWalkTimeout)
		}
	}
	if o.Probe == nil {
		allowed := o.Node.Allowed
		o.Probe = func(ctx context.Context, store string) (Bandwidth, error) {
			return ProbeStore(ctx, allowed, store, ProbeOptions{})
		}
	}
	return o
}

// measure reads what the checkpoint of t would write.
func measure(ctx context.Context, t Target, o DryRunOptions) ContainerUsage {
	c := ContainerUsage{Namespace: t.Namespace, ID: t.ID, Key: t.Key, Store: t.Store, Pid: t.Pid}
	if m, err := o.Memory(t.Pid); err != nil {
		c.MemoryError = err.Error()
	} else {
		c.MemoryBytes, c.MemorySource = &m.Bytes, m.Source
	}
	if l, err := o.Layer(ctx, t.Pid); err != nil {
		c.LayerError = err.Error()
	} else {
		c.LayerBytes, c.LayerFiles, c.LayerDir, c.LayerNote = &l.Bytes, l.Files, l.Upper, l.Note
	}
	return c
}
