package realrunc

import (
	"context"
	"io"
)

// Runc is the real runc binary as ARCH's handlers use it (the interface
// they see is pkg/wrapper's runc.go): the calls ARCH makes of its own, with
// the caller's global flags (Global: --root, --log, --systemd-cgroup, ...)
// so that they see the same state and cgroup driver as the caller, and the
// caller's own calls, whose argv carries those flags already.
type Runc struct {
	Path   string
	Global []string
	Env    []string
}

func (r *Runc) own() *Runner { return &Runner{Path: r.Path, Global: r.Global, Env: r.Env} }

// State is `runc state id`.
func (r *Runc) State(ctx context.Context, id string) (*State, error) {
	return r.own().State(ctx, id)
}

// Pids is `runc ps --format json id`.
func (r *Runc) Pids(ctx context.Context, id string) ([]int, error) {
	return r.own().Pids(ctx, id)
}

// Pause is `runc pause id`, its output to out (nil: discarded).
func (r *Runc) Pause(ctx context.Context, id string, out io.Writer) error {
	return r.own().Run(ctx, Stdio{Stdout: out, Stderr: out}, "pause", id)
}

// Resume is `runc resume id`.
func (r *Runc) Resume(ctx context.Context, id string) error {
	return r.own().Run(ctx, Stdio{}, "resume", id)
}

// Kill is `runc kill [--all] id signal`.
func (r *Runc) Kill(ctx context.Context, id, signal string, all bool) error {
	args := []string{"kill"}
	if all {
		args = append(args, "--all")
	}
	return r.own().Run(ctx, Stdio{}, append(args, id, signal)...)
}

// Delete is `runc delete [--force] id`.
func (r *Runc) Delete(ctx context.Context, id string, force bool) error {
	args := []string{"delete"}
	if force {
		args = append(args, "--force")
	}
	return r.own().Run(ctx, Stdio{}, append(args, id)...)
}

// Checkpoint runs a `runc checkpoint` whose whole argv (global flags
// included) ARCH rewrote; onStart, when set, is called once runc runs.
func (r *Runc) Checkpoint(ctx context.Context, stdio Stdio, argv []string, onStart func()) error {
	return r.Call(ctx, stdio, argv, onStart)
}

// Restore runs a `runc restore` whose whole argv ARCH made from the
// caller's create; onStart as for Checkpoint.
func (r *Runc) Restore(ctx context.Context, stdio Stdio, argv []string, onStart func()) error {
	return r.Call(ctx, stdio, argv, onStart)
}

// Call runs runc with argv as given (the caller's own call, as a child
// ARCH waits for).
func (r *Runc) Call(ctx context.Context, stdio Stdio, argv []string, onStart func()) error {
	return (&Runner{Path: r.Path, Env: r.Env, OnStart: onStart}).Run(ctx, stdio, argv...)
}

// Exec replaces the wrapper with runc running argv (argv[0] included) in
// env: the pass-through. It returns only on failure.
func (r *Runc) Exec(argv, env []string) error { return Exec(r.Path, argv, env) }
