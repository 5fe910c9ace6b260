package wrapper

import (
	"context"
	"errors"

	"github.com/arch-ckpt/arch/pkg/flock"
	"github.com/arch-ckpt/arch/pkg/realrunc"
)

// delete runs `runc delete` for an enabled container (its poststop hook,
// arch-hook, reads the record) and then forgets the container.
func (c *call) delete() (int, bool) {
	if !c.container().Enabled() {
		return 0, false
	}
	records := c.records()
	held, err := c.lockRecord()
	if err != nil {
		c.logger().Warn().Err(err).Msg("delete: cannot lock the record; passing to runc")
		return 0, false
	}
	defer held.Release()
	if rec := c.relook().Record; rec != nil && (rec.CheckpointInFlight() != nil || c.cmd.Bool("force")) {
		// Settle before the poststop hook reads the record.
		stopped := c.settleCheckpoint(rec, c.logger())
		if c.cmd.Bool("force") && !stopped && !rec.StopRequested {
			// delete --force of a live container stops it: not on its own.
			rec.StopRequested = true
			if err := records.Save(rec); err != nil {
				c.logger().Warn().Err(err).Msg("delete: cannot note the stop request")
			}
		}
	}
	var freeze *flock.Lock
	if c.cmd.Bool("force") {
		// delete --force of a live container freezes it to kill it:
		// serialized against execs like a pause (serialize.go).
		ctx, cancel := context.WithTimeout(context.Background(), lockWait)
		freeze, err = records.FreezeLock(ctx, c.root(), c.cmd.ID)
		cancel()
		if err != nil {
			c.logger().Warn().Err(err).Msg("delete: cannot take the freeze lock; deleting unserialized")
		}
		defer freeze.Release()
	}
	// The caller's exact arguments, stdio and fds: only ARCH's cleanup follows.
	err = c.rc.Call(context.Background(), realrunc.Inherit(), c.argv[1:], nil)
	code := exitCode(err)
	if code == 0 || !c.runcStateExists() {
		records.Remove(c.root(), c.cmd.ID)
		c.removeLocks(held, freeze)
	}
	c.logger().Info().Strs("argv", c.argvForLog()).Int("exit", code).Msg("delete")
	return code, true
}

// runcStateExists reports whether runc still knows the container.
func (c *call) runcStateExists() bool {
	_, err := c.rc.State(context.Background(), c.cmd.ID)
	return err == nil
}

// exitCode maps a child runc's result to the wrapper's exit status.
func exitCode(err error) int {
	var ee *realrunc.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	default:
		return exitArchError
	}
}
