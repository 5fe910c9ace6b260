package wrapper

import "github.com/arch-ckpt/arch/pkg/state"

// skipOnce answers a `start` after a create that ARCH turned into a restore
// (the process already runs: real runc would say "cannot start an already
// running container"), or a `resume` after an ARCH checkpoint stopped the
// container, with success and without calling runc. The mark is consumed:
// a second call goes to runc.
func (c *call) skipOnce(what string, mark func(*state.Record) *bool) (int, bool) {
	ctr := c.container()
	switch {
	case !ctr.Enabled():
		return 0, false
	case ctr.Err != nil:
		c.logger().Warn().Err(ctr.Err).Msg(what + ": unreadable record; passing to runc")
		return 0, false
	case !*mark(ctr.Record) && ctr.Phase() != state.PhaseCheckpointing:
		return 0, false // the common case: nothing to skip, no lock taken
	}
	held, err := c.lockRecord()
	if err != nil {
		c.logger().Warn().Err(err).Msg(what + ": cannot lock the record; passing to runc")
		return 0, false
	}
	defer held.Release()
	rec := c.relook().Record
	if rec == nil {
		return 0, false
	}
	if rec.CheckpointInFlight() != nil {
		// The wrapper of a checkpoint died; this is the caller's resume
		// (or a start) that follows it.
		stopped := c.settleCheckpoint(rec, c.logger())
		if what == "resume" && stopped {
			c.logger().Info().Msg("resume of a container stopped by an interrupted checkpoint answered")
			return 0, true
		}
	}
	if !*mark(rec) {
		return 0, false
	}
	*mark(rec) = false
	if err := c.records().Save(rec); err != nil {
		// Still answer this call: the mark exists because runc would fail it.
		c.logger().Warn().Err(err).Msg(what + ": cannot clear the mark")
	}
	c.logger().Info().Strs("argv", c.argvForLog()).Str("rewritten", "(none: answered by ARCH)").Msg(what + " skipped")
	return 0, true
}
