package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// ArchEnv is a minimal ARCH node configuration for the wrapper: its file
// and the folders it names, under Dir.
type ArchEnv struct {
	Dir        string
	Config     string // the file ARCH_CONFIG names
	LogFile    string
	StateDir   string
	Store      string
	StagingDir string
}

// NewArchEnv writes an ARCH configuration in a new folder (removed when the
// test ends; create it before Start so that it outlives the daemon). store
// "" means DIR/store; two nodes share a store by passing the same folder.
// On test failure the tail of ARCH's log is logged.
func NewArchEnv(t testing.TB, store string) ArchEnv {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "arch-e2e-cfg-")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	a := ArchEnv{
		Dir:        dir,
		Config:     filepath.Join(dir, "arch.conf"),
		LogFile:    filepath.Join(dir, "arch.log"),
		StateDir:   filepath.Join(dir, "state"),
		Store:      store,
		StagingDir: filepath.Join(dir, "staging"),
	}
	if a.Store == "" {
		a.Store = filepath.Join(dir, "store")
	}
	conf := fmt.Sprintf("log_file = %s\nstate_dir = %s\nstore = %s\nstaging_dir = %s\nallowed_roots = %s\n",
		a.LogFile, a.StateDir, a.Store, a.StagingDir, AllowedRoot)
	if err := os.WriteFile(a.Config, []byte(conf), 0o644); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testbed: last lines of ARCH log %s:\n%s", a.LogFile, tailFile(a.LogFile, LogTailLines))
		}
		unmountUnder(dir)
		if os.Getenv("ARCH_E2E_KEEP") != "" {
			t.Logf("testbed: ARCH_E2E_KEEP: ARCH's folder %s is kept", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return a
}

// AllowedRoot is the allowed_roots of every test node: the shared
// filesystem the nodes of a test share (see SharedFolder).
const AllowedRoot = "/tmp/arch-e2e-allowed"

// SharedFolder makes a new folder below AllowedRoot, as a test's shared
// filesystem (ARCH_SHAREDFS_HOST_PATH, ARCH_CHECKPOINT_HOST_PATH); it is
// removed when the test ends.
func SharedFolder(t testing.TB) string {
	t.Helper()
	if err := os.MkdirAll(AllowedRoot, 0o755); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	dir, err := os.MkdirTemp(AllowedRoot, "shared-")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(func() {
		unmountUnder(dir)
		_ = os.RemoveAll(dir)
	})
	return dir
}

// Options are the Start options that put the wrapper's configuration in the
// daemon's environment (inherited by shim and wrapper): ARCH_CONFIG, and
// ARCH_RUNC naming the real runc.
func (a ArchEnv) Options(t testing.TB) []Option {
	t.Helper()
	runc, err := LookPath("runc")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return []Option{WithEnv("ARCH_CONFIG", a.Config), WithEnv("ARCH_RUNC", runc)}
}
