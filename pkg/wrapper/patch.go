package wrapper

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/specpatch"
	"github.com/arch-ckpt/arch/pkg/state"
)

// patchBundle applies ARCH's edits to config.json (idempotently: a create
// retried on the same bundle patches nothing twice) and creates the shared
// work folder when there is one.
func (c *call) patchBundle(b *bundle.Bundle, rec *state.Record, d *archspec.Decision) error {
	hook := c.hookPath()
	if !fileExists(hook) {
		return fmt.Errorf("arch-hook not found at %s (set hook = PATH in the ARCH configuration)", hook)
	}
	recPath, err := c.records().Path(rec.Root, rec.ID)
	if err != nil {
		return err
	}
	criuConf := archspec.CriuConfigPath(recPath)
	plan, err := archspec.Make(b.Spec, d, archspec.Inputs{
		HookPath: hook, RecordPath: recPath, ConfigPath: c.cfg.Path, CriuConfig: criuConf,
	})
	if err != nil {
		return err
	}
	// One left by a checkpoint whose wrapper was killed mid-dump would
	// leave a restore of the same id stopped.
	os.Remove(state.CriuConfigFile(recPath))
	if err := plan.MakeWorkDir(); err != nil {
		return err
	}
	changed, err := specpatch.PatchFile(filepath.Join(b.Dir, bundle.ConfigName), plan.Modifiers()...)
	if err != nil {
		return err
	}
	// What runc will read: the rest of this call (a restore) must see the
	// annotations it set.
	for k, v := range plan.Annotations {
		if b.Spec.Annotations == nil {
			b.Spec.Annotations = map[string]string{}
		}
		b.Spec.Annotations[k] = v
	}
	c.logger().Debug().Bool("changed", changed).Str("hook", hook).Msg("config.json patched")
	return nil
}
