package wrapper

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/flock"
	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/state"
)

// create handles `runc create` of an enabled container: record it, inject
// ARCH's hook, and restore from the store when the workload has a valid
// image. Anything that goes wrong ends in the original create.
func (c *call) create() (int, bool) {
	dir, ok := c.cmd.Get("bundle")
	if !ok || dir == "" {
		dir = "." // runc's default: the current folder
	}
	b, err := bundle.Load(dir)
	if err != nil {
		// runc will report the bad bundle itself; ARCH says why it stood aside.
		c.logger().Warn().Err(err).Msg("cannot read the bundle; passing create to runc unchanged")
		return 0, false
	}
	d := c.decide(b)
	if !d.Enabled {
		return 0, false
	}
	rec, held, why, err := c.enroll(b, d)
	if rec == nil {
		c.warn("arch-wrapper: "+why+"; this container runs without checkpoint/restore", err)
		return 0, false
	}
	defer held.Release()
	log := c.logger().With().Str("key", rec.Key).Str("store", rec.Store).Logger()
	if code, restored := c.tryRestore(b, rec, d.ParsedKey(), d.WorkDir != ""); restored {
		return code, true
	}
	log.Info().Strs("argv", c.argvForLog()).Msg("create: no usable checkpoint, starting fresh")
	return 0, false
}

// decide tells whether the container of bundle b, which this call creates
// (or restores), is enabled, and with which key and store. A container
// that is not removes any record a container with the same id left.
func (c *call) decide(b *bundle.Bundle) *archspec.Decision {
	d := archspec.Decide(b.Spec, runccmd.Namespace(c.root()), c.cmd.ID, c.cfg.Allowed())
	if !d.Enabled {
		c.records().Remove(c.root(), c.cmd.ID)
	}
	return d
}

// enroll makes the enabled container of bundle b (decision d) ARCH's: its
// record, ARCH's edits to config.json, the marker of the fast path. It
// returns the record with its lock held, or nil and why ARCH cannot serve
// the container (then it has no record).
func (c *call) enroll(b *bundle.Bundle, d *archspec.Decision) (*state.Record, *flock.Lock, string, error) {
	id := c.cmd.ID
	records := c.records()
	if c.cfgErr != nil {
		return nil, nil, "ARCH configuration unreadable (" + c.cfgErr.Error() + ")", c.cfgErr
	}
	if !state.ValidID(id) {
		// runc refuses it too; ARCH must not use it in a path.
		return nil, nil, "invalid container id", nil
	}
	for _, w := range d.Warnings {
		c.warn("arch-wrapper: "+w, nil)
	}
	if !d.Usable() {
		records.Remove(c.root(), id)
		return nil, nil, d.Problem, nil
	}
	if err := d.CheckPaths(); err != nil {
		records.Remove(c.root(), id)
		return nil, nil, err.Error(), err
	}
	held, err := c.lockRecord()
	if err != nil {
		return nil, nil, err.Error(), err
	}
	rec := &state.Record{
		ID: id, Root: c.root(), Namespace: runccmd.Namespace(c.root()), Bundle: b.Dir,
		Key: d.Key, Store: d.Store, CreatedAt: time.Now().UTC(),
	}
	if err := c.patchBundle(b, rec, d); err != nil {
		records.Remove(c.root(), id)
		held.Release()
		return nil, nil, "cannot prepare config.json (" + err.Error() + ")", err
	}
	switch err := records.Adopt(rec); {
	case errors.Is(err, state.ErrNoMarker):
		// Its execs and pauses then go straight to runc, unserialized.
		c.logger().Warn().Err(err).Msg("cannot mark the container for the fast path")
	case err != nil:
		held.Release()
		return nil, nil, err.Error(), err
	}
	return rec, held, "", nil
}

// hookPath is the arch-hook binary injected into config.json.
func (c *call) hookPath() string {
	if c.cfg.Hook != "" {
		return c.cfg.Hook
	}
	return filepath.Join(filepath.Dir(c.self), "arch-hook")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
