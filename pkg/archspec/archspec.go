// Package archspec says what ARCH changes in an enabled container's
// config.json: the arch-hook poststop hook, the CRIU configuration file
// annotation and, in shared-filesystem mode, the work-dir bind mount and the
// process cwd. The wrapper applies it;
// `arch-hook explain` prints it.
package archspec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/saferoot"
	"github.com/arch-ckpt/arch/pkg/specpatch"
	"github.com/arch-ckpt/arch/pkg/state"
)

// HookTimeout bounds arch-hook under runc (seconds).
const HookTimeout = 60

// Plan is the set of edits for one container.
type Plan struct {
	Hooks map[string][]specs.Hook // by stage
	Mount *specs.Mount            // shared work dir, if any
	Cwd   string                  // process cwd, if changed
	// Annotations are added when the container does not set them.
	Annotations map[string]string

	workParent saferoot.Location // <shared>/work, when Mount is set
	workName   string            // the key's work dir in it
}

// Inputs are what the plan depends on besides config.json.
type Inputs struct {
	HookPath   string // absolute path of arch-hook
	RecordPath string // the container's ARCH record
	ConfigPath string // ARCH configuration file to pass on ("" = default)
	// CriuConfig is the CRIU configuration file ARCH writes for this
	// container during its checkpoint ("" = none; see AnnotationCriuConfig).
	CriuConfig string
}

// AnnotationCriuConfig names the CRIU configuration file runc gives CRIU for
// this container (runc >= 1.0; a missing file is ignored). Without it runc
// uses /etc/criu/runc.conf, so ARCH only sets it when that file does not
// exist, and never over the container's own.
const AnnotationCriuConfig = "org.criu.config"

// RuncCriuConfig is the CRIU configuration runc uses for a container that
// names none.
const RuncCriuConfig = "/etc/criu/runc.conf"

// CriuConfigPath is the CRIU configuration file of the container whose ARCH
// record is recordPath, next to it; "" when this node has RuncCriuConfig:
// the operator's settings must keep applying to every container.
func CriuConfigPath(recordPath string) string {
	if _, err := os.Lstat(RuncCriuConfig); !errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return state.CriuConfigFile(recordPath)
}

// Make computes the plan for spec, for which ARCH decided d (usable).
func Make(spec *specs.Spec, d *Decision, in Inputs) (*Plan, error) {
	args := []string{"arch-hook", "poststop", "--record", in.RecordPath}
	if in.ConfigPath != "" {
		args = append(args, "--config", in.ConfigPath)
	}
	timeout := HookTimeout
	p := &Plan{Hooks: map[string][]specs.Hook{
		"poststop": {{Path: in.HookPath, Args: args, Timeout: &timeout}},
	}}
	if _, owned := spec.Annotations[AnnotationCriuConfig]; in.CriuConfig != "" && !owned {
		p.Annotations = map[string]string{AnnotationCriuConfig: in.CriuConfig}
	}
	if d.WorkDir != "" {
		if !filepath.IsAbs(d.workdir) {
			return nil, fmt.Errorf("%s must be an absolute path inside the container", bundle.EnvWorkdirPath)
		}
		p.workParent, p.workName = d.workParent, d.key.Folder()
		p.Mount = &specs.Mount{
			Destination: filepath.Clean(d.workdir),
			Type:        "bind",
			Source:      d.WorkDir,
			Options:     []string{"rbind", "rw"},
		}
		p.Cwd = filepath.Clean(d.workdir)
	}
	return p, nil
}

// Permissions of the shared work folders: <shared>/work lets every
// container's runc reach its own work dir (a user namespace's root too)
// without letting anyone list the others; a work dir is the workload's.
const (
	workParentPerm = 0o711
	workDirPerm    = 0o755
)

// MakeWorkDir creates the shared work dir the plan mounts (nothing when it
// mounts none), without following a symlink anywhere below its allowed
// root: a symlink or a non-folder in the way is an error wrapping
// saferoot.ErrUnsafe. The mount's source is this folder's path: no tenant
// can write to <shared>/work or above it (no container sees them), so the
// path runc resolves is the folder made here.
func (p *Plan) MakeWorkDir() error {
	if p.Mount == nil {
		return nil
	}
	parent, err := p.workParent.MkdirAll(workParentPerm)
	if err != nil {
		return fmt.Errorf("create shared work folder: %w", err)
	}
	defer parent.Close()
	if _, err := parent.Mkdir(p.workName, workDirPerm); err != nil {
		return fmt.Errorf("create shared work dir: %w", err)
	}
	return nil
}

// Modifiers turns the plan into config.json edits.
func (p *Plan) Modifiers() []specpatch.Modifier {
	var mods []specpatch.Modifier
	for stage, hooks := range p.Hooks {
		for _, h := range hooks {
			stage, h := stage, h
			mods = append(mods, func(d *specpatch.Doc) error { _, err := d.AddHook(stage, h); return err })
		}
	}
	for k, v := range p.Annotations {
		mods = append(mods, specpatch.WithAnnotation(k, v))
	}
	if p.Mount != nil {
		m := *p.Mount
		mods = append(mods, func(d *specpatch.Doc) error { _, err := d.AddMount(m); return err })
	}
	if p.Cwd != "" {
		cwd := p.Cwd
		mods = append(mods, func(d *specpatch.Doc) error { _, err := d.SetCwd(cwd); return err })
	}
	return mods
}
