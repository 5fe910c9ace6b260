package flock

import "context"

// Gated is a lock with a gate in front of it, so that a stream of shared
// holders cannot starve an exclusive waiter: a shared taker passes the
// gate (shared) before taking the lock and leaves it at once; an exclusive
// taker holds the gate (exclusive) while it waits for the lock, which
// keeps new shared takers out until the current ones are done.
type Gated struct {
	Gate, Lock Target
}

// AcquireGated takes g in mode, waiting until ctx is done. A shared lock
// holds only g.Lock's file; an exclusive one holds both, released
// together. An exclusive taker that gives up lets shared takers in again.
func AcquireGated(ctx context.Context, g Gated, mode Mode) (*Lock, error) {
	gate, err := Acquire(ctx, g.Gate, mode)
	if err != nil {
		return nil, err
	}
	l, err := Acquire(ctx, g.Lock, mode)
	if err != nil || mode == Shared {
		gate.Release()
		return l, err
	}
	l.gate = gate
	return l, nil
}
