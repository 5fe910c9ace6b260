package wrapper

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/state"
)

// create handles `runc create` of an enabled container: record it, inject
// ARCH's hook, and restore from the store when the workload has a valid
// image. Anything that goes wrong ends in the original create.
func (c *call) create() (int, bool) {
	id := c.cmd.ID
	records := c.records()
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
	ns := runccmd.Namespace(c.root())
	d := archspec.Decide(b.Spec, ns, id, c.cfg.Allowed())
	if !d.Enabled {
		// A container with a reused id may have left a record behind.
		records.Remove(c.root(), id)
		return 0, false
	}
	if c.cfgErr != nil {
		c.warn("arch-wrapper: ARCH configuration unreadable ("+c.cfgErr.Error()+"); this container runs without checkpoint/restore", c.cfgErr)
		return 0, false
	}
	if !state.ValidID(id) {
		// runc refuses it too; ARCH must not use it in a path.
		c.warn("arch-wrapper: invalid container id; this container runs without checkpoint/restore", nil)
		return 0, false
	}
	for _, w := range d.Warnings {
		c.warn("arch-wrapper: "+w, nil)
	}
	if !d.Usable() {
		c.warn("arch-wrapper: "+d.Problem+"; this container runs without checkpoint/restore", nil)
		records.Remove(c.root(), id)
		return 0, false
	}
	if err := d.CheckPaths(); err != nil {
		c.warn("arch-wrapper: "+err.Error()+"; this container runs without checkpoint/restore", err)
		records.Remove(c.root(), id)
		return 0, false
	}
	held, err := c.lockRecord()
	if err != nil {
		c.warn("arch-wrapper: "+err.Error()+"; container runs without ARCH", err)
		return 0, false
	}
	defer held.Release()

	rec := &state.Record{
		ID: id, Root: c.root(), Namespace: ns, Bundle: b.Dir,
		Key: d.Key, Store: d.Store, CreatedAt: time.Now().UTC(),
	}
	if err := c.patchBundle(b, rec, d); err != nil {
		c.warn("arch-wrapper: cannot prepare config.json ("+err.Error()+"); container runs without ARCH", err)
		records.Remove(c.root(), id)
		return 0, false
	}
	switch err := records.Adopt(rec); {
	case errors.Is(err, state.ErrNoMarker):
		// Its execs and pauses then go straight to runc, unserialized.
		c.logger().Warn().Err(err).Msg("create: cannot mark the container for the fast path")
	case err != nil:
		c.warn("arch-wrapper: "+err.Error()+"; container runs without ARCH", err)
		return 0, false
	}
	log := c.logger().With().Str("key", rec.Key).Str("store", rec.Store).Logger()
	if code, restored := c.tryRestore(b, rec, d.ParsedKey(), d.WorkDir != ""); restored {
		return code, true
	}
	log.Info().Strs("argv", c.argvForLog()).Msg("create: no usable checkpoint, starting fresh")
	return 0, false
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
