// Package bundle reads an OCI bundle's config.json and derives what ARCH
// needs from it: whether the container opted in, its checkpoint key and
// store, and the per-container record that later runc calls find by id.
package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the OCI bundle's configuration file.
const ConfigName = "config.json"

// maxConfigSize bounds how much of config.json is read (runc itself has no
// limit, but a multi-megabyte config.json is already pathological).
const maxConfigSize = 32 << 20

// Bundle is an OCI bundle folder and its parsed configuration.
type Bundle struct {
	Dir  string
	Spec *specs.Spec
	Raw  []byte // config.json as read
}

// Load reads dir/config.json.
func Load(dir string) (*Bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	path := filepath.Join(abs, ConfigName)
	// Never follow a symlink out of the bundle.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(raw) > maxConfigSize {
		return nil, fmt.Errorf("read %s: larger than %d bytes", path, maxConfigSize)
	}
	var spec specs.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &Bundle{Dir: abs, Spec: &spec, Raw: raw}, nil
}

// Rootfs is the container's root filesystem on the host.
func (b *Bundle) Rootfs() string {
	if b.Spec.Root == nil || b.Spec.Root.Path == "" {
		return filepath.Join(b.Dir, "rootfs")
	}
	if filepath.IsAbs(b.Spec.Root.Path) {
		return b.Spec.Root.Path
	}
	return filepath.Join(b.Dir, b.Spec.Root.Path)
}

// Getenv returns the value of name in the container's process environment
// (the last assignment wins, as in execve).
func Getenv(spec *specs.Spec, name string) (string, bool) {
	if spec == nil || spec.Process == nil {
		return "", false
	}
	val, found := "", false
	for _, kv := range spec.Process.Env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}

// EnvEnable is the container environment variable that opts a container in.
const EnvEnable = "ARCH_ENABLE"

// Enabled reports whether the container opted in, and why (never quoting
// any other variable: environments hold secrets).
func Enabled(spec *specs.Spec) (bool, string) {
	v, ok := Getenv(spec, EnvEnable)
	if !ok {
		return false, EnvEnable + " is not set in the container environment"
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true, EnvEnable + "=" + v + " in the container environment"
	}
	return false, fmt.Sprintf("%s=%q is not 1, true or yes", EnvEnable, truncate(v, 16))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
