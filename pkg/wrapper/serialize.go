package wrapper

import (
	"context"
	"runtime"
	"time"

	"github.com/arch-ckpt/arch/pkg/flock"
)

// exec and pause of an enabled container run under the freeze locks of
// pkg/state/locks.go (runc 1.1 hangs for good when an exec races a freeze,
// and every checkpoint starts with one). The locks are inherited by the
// real runc, exec'd in place of the wrapper, and released when it exits.
// Containers without a record, and attached execs (which may last for
// hours and would hold every checkpoint off), pass through untouched.

// lockWait bounds how long a caller's exec or pause waits for the freeze
// locks (normally milliseconds: the other side is one short runc call).
// Past it the call goes to runc unserialized, as without ARCH.
const lockWait = 10 * time.Second

// serializedExec runs a detached exec of an enabled container (declines
// in wrapper.go has checked both) under the freeze locks.
func (c *call) serializedExec() (int, bool) {
	return c.passthroughLocked(func(ctx context.Context) (*flock.Lock, error) {
		return c.records().ExecLock(ctx, c.root(), c.cmd.ID)
	})
}

// serializedPause runs the caller's pause of an enabled container (declines
// in wrapper.go has checked) under the freeze locks, as a child of the
// wrapper so that a freeze runc gives up on is retried (freeze_retry.go),
// within checkpoint_timeout.
func (c *call) serializedPause() (int, bool) {
	lockCtx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	held, err := c.records().FreezeLock(lockCtx, c.root(), c.cmd.ID)
	if err != nil {
		c.logger().Warn().Err(err).Msg("pause: cannot take the freeze lock; passing to runc unserialized")
		return 0, false
	}
	defer held.Release()
	ctx, cancelPause := context.WithTimeout(context.Background(), c.cfg.CheckpointTimeout)
	defer cancelPause()
	return c.runcPause(ctx), true
}

// passthroughLocked takes the locks (waiting at most lockWait) and
// replaces the process with the real runc, which inherits them; without
// them the call goes to runc unserialized.
func (c *call) passthroughLocked(take func(context.Context) (*flock.Lock, error)) (int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	held, err := take(ctx)
	if err != nil {
		c.logger().Warn().Err(err).Msg(c.cmd.Name + ": cannot take the freeze lock; passing to runc unserialized")
		return 0, false
	}
	return c.passthroughHolding(held), true
}

// freeze pauses the container for ARCH's own checkpoint, under the freeze
// locks; the wait counts against the checkpoint's timeout.
func (c *call) freeze(ctx context.Context) error {
	held, err := c.records().FreezeLock(ctx, c.root(), c.cmd.ID)
	if err != nil {
		return err
	}
	defer held.Release()
	return c.pauseRetrying(ctx, nil)
}

// passthroughHolding replaces the process with the real runc, which
// inherits the held lock.
func (c *call) passthroughHolding(held *flock.Lock) int {
	if err := held.Inheritable(); err != nil {
		c.logger().Warn().Err(err).Msg("cannot hand the freeze lock to runc; running without it")
	}
	code := c.passthrough()
	// The files must stay open (not finalized) until runc has replaced us.
	runtime.KeepAlive(held)
	return code
}

// lockRecord takes the container's record lock. Its longest holder is a
// checkpoint (checkpoint_timeout, then the stop) or a restore
// (restore_timeout): a caller that waits longer than that finds something
// wrong, and gives up rather than hang containerd.
func (c *call) lockRecord() (*flock.Lock, error) {
	wait := max(c.cfg.CheckpointTimeout, c.cfg.RestoreTimeout) + exitWait + time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return c.records().Lock(ctx, c.root(), c.cmd.ID)
}

// removeLocks removes the locks of a container that is gone for good
// (after delete), so that the state folder does not fill with them:
// record is its held record lock, freeze its freeze lock if held (nil
// otherwise).
func (c *call) removeLocks(record, freeze *flock.Lock) {
	var err error
	if freeze != nil {
		err = freeze.Remove()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = c.records().RemoveFreezeLock(ctx, c.root(), c.cmd.ID)
		cancel()
	}
	if err != nil {
		c.logger().Debug().Err(err).Msg("delete: freeze lock left in place")
	}
	if err := record.Remove(); err != nil {
		c.logger().Debug().Err(err).Msg("delete: record lock left in place")
	}
}
