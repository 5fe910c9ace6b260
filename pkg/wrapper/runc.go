package wrapper

import (
	"context"
	"io"

	"github.com/arch-ckpt/arch/pkg/realrunc"
)

// runc is the seam between ARCH's handlers and the real runc: everything
// they ask of runc goes through it. The real one is realrunc.Runc; the
// unit tests script a fake (checkpoint_paths_test.go) to fail each step and
// check what a failure leaves behind.
type runc interface {
	State(ctx context.Context, id string) (*realrunc.State, error)
	Pids(ctx context.Context, id string) ([]int, error)
	Pause(ctx context.Context, id string, out io.Writer) error
	Resume(ctx context.Context, id string) error
	Kill(ctx context.Context, id, signal string, all bool) error
	Delete(ctx context.Context, id string, force bool) error
	Checkpoint(ctx context.Context, stdio realrunc.Stdio, argv []string, onStart func()) error
	Restore(ctx context.Context, stdio realrunc.Stdio, argv []string, onStart func()) error
	// Call runs the caller's own call as a child ARCH waits for.
	Call(ctx context.Context, stdio realrunc.Stdio, argv []string, onStart func()) error
	// Exec replaces the wrapper with runc: the pass-through.
	Exec(argv, env []string) error
}

var _ runc = (*realrunc.Runc)(nil)
