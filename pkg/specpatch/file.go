package specpatch

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/atomicfile"
)

// Modifier is one edit applied by PatchFile.
type Modifier func(*Doc) error

// WithHook returns a Modifier calling AddHook.
func WithHook(stage string, h specs.Hook) Modifier {
	return func(d *Doc) error { _, err := d.AddHook(stage, h); return err }
}

// WithoutHooks returns a Modifier calling RemoveHooks.
func WithoutHooks(stage, hookPath string) Modifier {
	return func(d *Doc) error { _, err := d.RemoveHooks(stage, hookPath); return err }
}

// WithMount returns a Modifier calling AddMount.
func WithMount(m specs.Mount) Modifier {
	return func(d *Doc) error { _, err := d.AddMount(m); return err }
}

// WithCwd returns a Modifier calling SetCwd.
func WithCwd(cwd string) Modifier {
	return func(d *Doc) error { _, err := d.SetCwd(cwd); return err }
}

// PatchFile reads the config.json at path, applies mods in order and, when
// anything changed, replaces the file atomically (pkg/atomicfile) keeping its
// permission bits and, when the caller may, its owner. It reports whether the
// file was rewritten. When a modifier fails, nothing is written. path must be
// a regular file; a symlink is refused rather than replaced by a file.
func PatchFile(path string, mods ...Modifier) (bool, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return false, fmt.Errorf("patch %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("patch %s: not a regular file (%s)", path, st.Mode().Type())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("patch %s: %w", path, err)
	}
	doc, err := Parse(data)
	if err != nil {
		return false, fmt.Errorf("patch %s: %w", path, err)
	}
	for _, mod := range mods {
		if err := mod(doc); err != nil {
			return false, fmt.Errorf("patch %s: %w", path, err)
		}
	}
	if !doc.Changed() {
		return false, nil
	}
	out, err := doc.Bytes()
	if err != nil {
		return false, fmt.Errorf("patch %s: %w", path, err)
	}
	if err := atomicfile.Replace(path, out, st); err != nil {
		return false, fmt.Errorf("patch %s: %w", path, err)
	}
	return true, nil
}

// WithAnnotation returns a Modifier calling AddAnnotation.
func WithAnnotation(key, value string) Modifier {
	return func(d *Doc) error { _, err := d.AddAnnotation(key, value); return err }
}
