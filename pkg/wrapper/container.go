package wrapper

import "github.com/arch-ckpt/arch/pkg/state"

// Whose is this call's container, and in which state? The one answer is
// pkg/state's Container (a record means ARCH's; its Phase and the record's
// checkpoint state say where it stands); every handler asks it first.
//
// One rule sits beside it: while ARCH's configuration file cannot be read
// whole (c.cfgErr), ARCH starts nothing new (a create runs without ARCH, a
// checkpoint of an enabled container is refused, so that it keeps running)
// and still completes what it started (the skipped start and resume, the
// delete, the settling of an interrupted checkpoint).

// container looks the call's container up, once per call.
func (c *call) container() state.Container {
	if c.ctr == nil {
		ctr := c.records().Lookup(c.root(), c.cmd.ID)
		c.ctr = &ctr
	}
	return *c.ctr
}

// relook looks the container up again: after taking its record lock, the
// record is the one to act on.
func (c *call) relook() state.Container {
	c.ctr = nil
	return c.container()
}

// startsNothingNew says why ARCH starts no new work (nil when it may).
func (c *call) startsNothingNew() error { return c.cfgErr }
