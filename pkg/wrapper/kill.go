package wrapper

import (
	"context"
	"strings"

	"github.com/arch-ckpt/arch/pkg/flock"
)

// terminating are the signals by which a caller stops a container (by name
// or number, as runc accepts them); others (HUP, USR1, ...) are messages to
// a container that goes on.
var terminating = map[string]bool{
	"TERM": true, "KILL": true, "INT": true, "QUIT": true,
	"15": true, "9": true, "2": true, "3": true,
}

// kill notes, for an enabled container, that the caller asked it to stop,
// then hands the call to runc unchanged (a kill --all under the freeze
// locks). A container stopped that way (an
// eviction, a drain, a cancel) has not finished: the poststop hook keeps
// the image it was restored from, for the next create.
func (c *call) kill() (int, bool) {
	sig := "TERM" // runc's default
	if len(c.cmd.Args) > 0 {
		sig = strings.TrimPrefix(strings.ToUpper(c.cmd.Args[0]), "SIG")
	}
	if terminating[sig] {
		c.markStopRequested()
	}
	if c.cmd.Bool("all") && c.container().Enabled() {
		// runc kill --all freezes the container to signal every process:
		// serialized against execs like a pause (serialize.go).
		return c.passthroughLocked(func(ctx context.Context) (*flock.Lock, error) {
			return c.records().FreezeLock(ctx, c.root(), c.cmd.ID)
		})
	}
	return 0, false
}

// markStopRequested sets the record's StopRequested mark, if there is a record.
func (c *call) markStopRequested() {
	if !c.container().Enabled() {
		return
	}
	held, err := c.lockRecord()
	if err != nil {
		return
	}
	defer held.Release()
	rec := c.relook().Record
	if rec == nil || rec.StopRequested {
		return
	}
	rec.StopRequested = true
	if err := c.records().Save(rec); err != nil {
		c.logger().Warn().Err(err).Msg("kill: cannot note the stop request")
		return
	}
	c.logger().Info().Strs("argv", c.argvForLog()).Msg("stop requested by the caller")
}
