// Package drain checkpoints every ARCH-enabled container of a node before
// the node goes away (`arch-hook checkpoint-all`, and `arch-hook
// watch-spot` on a spot interruption notice).
//
// The containers are found through containerd in every namespace, enabled
// ones are told apart with the wrapper's own rules (archspec.Decide on the
// container's OCI spec, and the record arch-wrapper wrote at create), and
// each is checkpointed through containerd with exit semantics, so that
// containerd's view of the task stays right: arch-wrapper commits the image
// to ARCH's store and stops the container. At most Parallel checkpoints run
// at once; none starts after the deadline. Progress is reported through an
// Observer (live terminal view, plain log lines) and the outcome as a
// Report (table, JSON). DryRun checkpoints nothing: it measures what the
// same selection would write (memory, writable layer) and how fast the
// stores take it, and estimates the drain against the deadline
// (Estimate).
//
// The pieces are separate so that they can be tested without containerd:
// Classify (which containers, and why not the others), Schedule (the
// parallel, deadline-bound loop over a Checkpointer), and the renderers.
package drain
