// Package config reads ARCH's node configuration: the file /etc/arch/arch.conf
// (or the one ARCH_CONFIG names) with a few environment overrides. The file
// holds "key = value" lines; '#' starts a comment. Unknown keys are reported
// and ignored so that an older binary keeps working with a newer file.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// DefaultPath is where the node configuration lives unless ARCH_CONFIG says otherwise.
const DefaultPath = "/etc/arch/arch.conf"

// Environment variables of the wrapper's own process (containerd's
// environment, inherited through the shim). They are node settings, not the
// container's: the container's ARCH_* variables live in its config.json.
const (
	EnvConfig = "ARCH_CONFIG" // path of the configuration file
	EnvRunc   = "ARCH_RUNC"   // path of the real runc, overrides the file
)

// Config is the node configuration.
type Config struct {
	// Path is the file the configuration was read from ("" when none exists).
	Path string
	// Runc is the real runc binary; empty means "look it up in PATH, skipping ARCH".
	Runc string
	// LogFile is ARCH's own log (zerolog JSON lines).
	LogFile string
	// LogLevel is one of trace, debug, info, warn, error.
	LogLevel string
	// StateDir holds per-container records and locks; it should be on a
	// tmpfs like runc's own state (/run), so that it is empty after a reboot.
	StateDir string
	// Store is the default checkpoint store when a container names none.
	Store string
	// StagingDir is a node-local folder for dumps and unpacked images.
	StagingDir string
	// CheckpointTimeout bounds a checkpoint (CRIU dump and archive commit).
	CheckpointTimeout time.Duration
	// RestoreTimeout bounds a restore (unpack and runc restore).
	RestoreTimeout time.Duration
	// Compression of checkpoint archives: "zstd" or "none".
	Compression string
	// Hook is the arch-hook binary injected into config.json; empty means
	// arch-hook next to the wrapper binary.
	Hook string
	// ContainerdAddress is containerd's socket, for arch-hook's node commands.
	ContainerdAddress string
	// AllowedRoots are the host folders (clean, absolute) below which a
	// container's environment may name its checkpoint store or shared
	// root (ARCH_CHECKPOINT_HOST_PATH, ARCH_SHAREDFS_HOST_PATH). Store is
	// always allowed; nothing else is by default.
	AllowedRoots []string
	// ImageHMACKeyFile, when set, names the key with which ARCH signs
	// every manifest it commits and checks every image it restores.
	ImageHMACKeyFile string
	// TCPEstablished is what a checkpoint does with established TCP
	// connections: TCPClose, TCPKeep or TCPRefuse.
	TCPEstablished string
	// MaxRestoreAttempts bounds the restores of one image: a workload
	// that keeps failing after its restore is started fresh after that.
	MaxRestoreAttempts int
	// ReuseRestoredImages lets an image that was restored before be
	// restored again in shared-filesystem mode, although the work dir has
	// moved on since (off: such a container starts fresh).
	ReuseRestoredImages bool
}

// Values of tcp_established.
const (
	// TCPClose dumps established connections without their state (CRIU's
	// tcp-close) and restores them closed: the application sees a reset
	// and reconnects, as after any network blip. Its peer and address may
	// change with a migration, so nothing else could work there.
	TCPClose = "close"
	// TCPKeep dumps and restores them as they are (--tcp-established):
	// for a restore on the same node, with the same addresses.
	TCPKeep = "keep"
	// TCPRefuse passes neither: CRIU refuses to dump a container that holds
	// one, and the container keeps running.
	TCPRefuse = "refuse"
)

// Defaults returns the configuration used when no file exists.
func Defaults() Config {
	return Config{
		LogFile:            "/var/log/arch/arch.log",
		LogLevel:           "info",
		StateDir:           "/run/arch",
		Store:              "/var/lib/arch/checkpoints",
		StagingDir:         "/var/lib/arch/staging",
		CheckpointTimeout:  5 * time.Minute,
		RestoreTimeout:     5 * time.Minute,
		Compression:        "zstd",
		ContainerdAddress:  "/run/containerd/containerd.sock",
		TCPEstablished:     TCPClose,
		MaxRestoreAttempts: 3,
	}
}

// Allowed is what a container's environment may name as host folders.
func (c Config) Allowed() saferoot.Allowed {
	return saferoot.Allowed{Roots: c.AllowedRoots, Store: c.Store, Reserved: []string{c.StateDir, c.StagingDir}}
}

// ErrUnreadable wraps a failure to read or parse the configuration file.
var ErrUnreadable = errors.New("unreadable ARCH configuration")

// Load reads the configuration named by the environment (getenv is
// os.Getenv in production). It always returns a usable Config: on error the
// defaults (plus whatever was read) are returned together with the error, so
// that the caller can log it and still hand calls to the real runc.
func Load(getenv func(string) string) (Config, error) {
	cfg := Defaults()
	path := getenv(EnvConfig)
	explicit := path != ""
	if !explicit {
		path = DefaultPath
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		cfg.Path = path
		err = cfg.parse(data)
		if err != nil {
			err = fmt.Errorf("%w %s: %w", ErrUnreadable, path, err)
		}
	case errors.Is(err, os.ErrNotExist) && !explicit:
		err = nil
	default:
		err = fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	if r := getenv(EnvRunc); r != "" {
		cfg.Runc = r
	}
	return cfg, err
}

func (c *Config) parse(data []byte) error {
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("line %d: want key = value", n))
			continue
		}
		if err := c.set(strings.TrimSpace(k), unquote(strings.TrimSpace(v))); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

func (c *Config) set(key, val string) error {
	str := map[string]*string{
		"runc": &c.Runc, "log_file": &c.LogFile, "state_dir": &c.StateDir,
		"store": &c.Store, "staging_dir": &c.StagingDir, "hook": &c.Hook,
		"containerd_address": &c.ContainerdAddress, "image_hmac_key_file": &c.ImageHMACKeyFile,
	}
	if p, ok := str[key]; ok {
		if key != "runc" && key != "hook" && key != "image_hmac_key_file" && val == "" {
			return fmt.Errorf("%s: empty value", key)
		}
		if val != "" && !strings.HasPrefix(val, "/") {
			return fmt.Errorf("%s: %q is not an absolute path", key, val)
		}
		*p = val
		return nil
	}
	switch key {
	case "allowed_roots":
		roots, err := parseRoots(val)
		if err != nil {
			return fmt.Errorf("allowed_roots: %w", err)
		}
		c.AllowedRoots = roots
		return nil
	case "log_level":
		switch val {
		case "trace", "debug", "info", "warn", "error":
			c.LogLevel = val
			return nil
		}
		return fmt.Errorf("log_level: %q is not one of trace, debug, info, warn, error", val)
	case "checkpoint_timeout", "restore_timeout":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration such as 90s or 5m", key, val)
		}
		if key == "checkpoint_timeout" {
			c.CheckpointTimeout = d
		} else {
			c.RestoreTimeout = d
		}
		return nil
	case "max_restore_attempts":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return fmt.Errorf("max_restore_attempts: %q is not a whole number of at least 1", val)
		}
		c.MaxRestoreAttempts = n
		return nil
	case "reuse_restored_images":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("reuse_restored_images: %q is not true or false", val)
		}
		c.ReuseRestoredImages = b
		return nil
	case "tcp_established":
		switch val {
		case TCPClose, TCPKeep, TCPRefuse:
			c.TCPEstablished = val
			return nil
		}
		return fmt.Errorf("tcp_established: %q is not close, keep or refuse", val)
	case "compression":
		if val != "zstd" && val != "none" {
			return fmt.Errorf("compression: %q is not zstd or none", val)
		}
		c.Compression = val
		return nil
	}
	return fmt.Errorf("unknown key %q", key)
}

// parseRoots reads a comma-separated list of absolute host folders. "/"
// and paths with a ".." component are refused: the first would let every
// container name any host path, the second hides where a root really is.
func parseRoots(val string) ([]string, error) {
	var roots []string
	for _, r := range strings.Split(val, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !strings.HasPrefix(r, "/") {
			return nil, fmt.Errorf("%q is not an absolute path", r)
		}
		for _, c := range strings.Split(r, "/") {
			if c == ".." {
				return nil, fmt.Errorf("%q has a \"..\" component", r)
			}
		}
		r = path.Clean(r)
		if r == "/" {
			return nil, errors.New(`"/" would let containers name any host path`)
		}
		if !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	return roots, nil
}
