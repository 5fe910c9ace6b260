package install

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Defaults of the installers.
const (
	DefaultContainerdConfig = "/etc/containerd/config.toml"
	DefaultDaemonJSON       = "/etc/docker/daemon.json"
	DefaultRuntime          = "runc" // containerd's CRI runtime whose runc ARCH replaces
	DockerRuntimeName       = "arch" // the runtime ARCH adds to Docker
)

// ContainerdOptions says what to change in containerd's configuration.
type ContainerdOptions struct {
	Config  string // containerd's config.toml
	Binary  string // absolute path of arch-wrapper
	Runtime string // CRI runtime name; "runc" when empty
	DryRun  bool   // say what would change, change nothing
	Now     func() time.Time
}

// Result says what an installer did, or in a dry run would do.
type Result struct {
	Path    string   // the file edited (symlinks resolved)
	Created bool     // the file did not exist and is (would be) written
	Changed bool     // the file is (would be) changed; false: it was already right
	Backup  string   // copy of the original, when an existing file was changed
	Old     string   // previous value of the setting, when there was one
	HadOld  bool     // the setting existed before
	Changes []string // what changed, for people
	// Warnings are problems a dry run found that a real run refuses.
	Warnings []string
	// containerd only
	Version int    // configuration version (2 or 3)
	Section string // the TOML table holding BinaryName
	// Docker only
	DefaultRuntime string // default-runtime after the edit ("" when unset)
}

// Containerd sets BinaryName of the CRI runtime o.Runtime to o.Binary in
// containerd's configuration (version 2: containerd 1.6/1.7's
// [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<runtime>.options];
// version 3: containerd 2.x's
// [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.<runtime>.options]).
// It replaces a different value (reported in Old), adds the key or the
// table when missing, and writes a minimal version 2 file when there is
// none.
func Containerd(o ContainerdOptions) (*Result, error) {
	if o.Runtime == "" {
		o.Runtime = DefaultRuntime
	}
	warnings, err := checkBinary(o.Binary, o.DryRun)
	if err != nil {
		return nil, err
	}
	t, err := readTarget(o.Config)
	if err != nil {
		return nil, err
	}
	r := &Result{Path: t.path, Created: !t.exists, Warnings: warnings}
	var e *tomlEdit
	if t.exists {
		e, err = setBinaryName(t.data, o.Runtime, o.Binary)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.path, err)
		}
	} else {
		e = &tomlEdit{version: 2, changed: true, out: minimalConfig(o.Runtime, o.Binary)}
		rt, quote, _ := runtimePath(2, o.Runtime)
		e.section = "[" + formatKey(append(rt, "options"), quote) + "]"
		e.changes = []string{"new file: a minimal version 2 configuration with " + e.section + " BinaryName = " + quoteString(o.Binary, false)}
	}
	r.Version, r.Section, r.Old, r.HadOld, r.Changes, r.Changed = e.version, e.section, e.old, e.hadOld, e.changes, e.changed
	r.Warnings = append(r.Warnings, e.warnings...)
	if !e.changed || o.DryRun {
		return r, nil
	}
	r.Backup, err = t.replace(e.out, 0o644, now(o.Now))
	return r, err
}

// checkBinary refuses a relative path, and a file that is not there: a
// runtime whose binary is missing fails every container. In a dry run a
// missing file is only a warning.
func checkBinary(p string, dryRun bool) ([]string, error) {
	if !filepath.IsAbs(p) {
		return nil, fmt.Errorf("binary %q: an absolute path is needed", p)
	}
	var err error
	if st, serr := os.Stat(p); serr != nil {
		err = fmt.Errorf("binary %s: %w (install arch-wrapper first)", p, serr)
	} else if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		err = fmt.Errorf("binary %s is not an executable file", p)
	}
	if err != nil && dryRun {
		return []string{err.Error()}, nil
	}
	return nil, err
}

func now(f func() time.Time) time.Time {
	if f == nil {
		return time.Now()
	}
	return f()
}
