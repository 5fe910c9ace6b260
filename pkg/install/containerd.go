package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
// none. A real TOML parser checks the edit before anything is written
// (editContainerd).
func Containerd(o ContainerdOptions) (*Result, error) {
	if o.Runtime == "" {
		o.Runtime = DefaultRuntime
	}
	if err := checkTOMLText(o.Runtime, o.Binary); err != nil {
		return nil, err
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
	e, err := editContainerd(t, o.Runtime, o.Binary)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	r.Version, r.Section, r.Old, r.HadOld, r.Changes, r.Changed = e.version, e.section, e.old, e.hadOld, e.changes, e.changed
	r.Warnings = append(r.Warnings, e.warnings...)
	if !e.changed || o.DryRun {
		return r, nil
	}
	r.Backup, err = t.replace(e.out, 0o644, now(o.Now))
	return r, err
}

// editContainerd computes the edit of t and checks it with a real TOML
// parser: a file the parser rejects is not edited, and an edit whose
// meaning is not exactly BinaryName set (see intendedTree) is refused.
func editContainerd(t *target, runtime, binary string) (*tomlEdit, error) {
	if err := checkReadable(t.data); err != nil {
		return nil, err
	}
	var e *tomlEdit
	if t.exists {
		var err error
		if e, err = editConfig(t.data, runtime, binary); err != nil {
			return nil, err
		}
	} else {
		e = newConfig(runtime, binary)
	}
	if e.changed {
		if err := verifyEdit(t.data, e.out, runtime, binary); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// editConfig is the line editor; a variable so that a test can give the
// check a faulty one.
var editConfig = setBinaryName

// newConfig is the edit that creates a missing configuration.
func newConfig(runtime, binary string) *tomlEdit {
	e := &tomlEdit{version: 2, changed: true, out: minimalConfig(runtime, binary)}
	rt, quote, _ := runtimePath(2, runtime)
	e.section = "[" + formatKey(append(rt, "options"), quote) + "]"
	e.changes = []string{"new file: a minimal version 2 configuration with " + e.section + " BinaryName = " + quoteString(binary, false)}
	return e
}

// checkTOMLText refuses what the file cannot hold: TOML text is UTF-8,
// and the runtime's name also goes into a comment of a new file, where a
// control character would end it.
func checkTOMLText(runtime, binary string) error {
	if !utf8.ValidString(runtime) || strings.ContainsFunc(runtime, unicode.IsControl) {
		return fmt.Errorf("runtime name %q: UTF-8 text without control characters is needed", runtime)
	}
	if !utf8.ValidString(binary) {
		return fmt.Errorf("binary %q: TOML holds only UTF-8 text", binary)
	}
	return nil
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
