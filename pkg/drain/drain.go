package drain

import (
	"context"
	"fmt"
	"time"
)

// Source lists the containers of a node (Containerd in production).
type Source interface {
	Candidates(ctx context.Context, namespaces []string) ([]Candidate, error)
}

// Options of a Run.
type Options struct {
	Namespaces []string // only these (all when empty)
	Node       Node
	Parallel   int
	Attempts   int // per container (see ScheduleOptions)
	Deadline   time.Time
	Observer   Observer
}

// Run finds the node's containers, checkpoints the enabled ones (Schedule)
// and reports on every container it saw, ordered by namespace and id.
// Listing happens before the deadline applies; its error is returned.
func Run(ctx context.Context, src Source, cp Checkpointer, o Options) (*Report, error) {
	rep := &Report{Started: time.Now(), Deadline: o.Deadline, Parallel: max(o.Parallel, 1)}
	targets, err := Select(ctx, src, o.Namespaces, o.Node)
	if err != nil {
		return nil, err
	}
	rep.Results = Schedule(ctx, targets, cp, ScheduleOptions{Parallel: rep.Parallel, Deadline: o.Deadline, Observer: o.Observer, Attempts: o.Attempts})
	rep.Counts = countResults(rep.Results)
	rep.Finished = time.Now()
	return rep, nil
}

// Select lists the containers of the namespaces (all when empty) and
// classifies each, ordered by namespace and id: what Run checkpoints, and
// what DryRun estimates, are the targets without a Skip.
func Select(ctx context.Context, src Source, namespaces []string, n Node) ([]Target, error) {
	cands, err := src.Candidates(ctx, namespaces)
	if err != nil {
		return nil, fmt.Errorf("checkpoint-all: %w", err)
	}
	targets := make([]Target, 0, len(cands))
	for _, c := range cands {
		targets = append(targets, Classify(c, n))
	}
	sortTargets(targets)
	return targets, nil
}
