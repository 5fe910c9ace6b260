package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bins are the repository's binaries, built once per test process.
type Bins struct {
	Wrapper string // arch-wrapper
	Hook    string // arch-hook
}

var (
	binsOnce sync.Once
	bins     Bins
	binsErr  error
	binsSkip string
	tempDirs struct {
		sync.Mutex
		paths []string
	}
)

const modulePath = "github.com/arch-ckpt/arch"

// Binaries builds cmd/arch-wrapper and cmd/arch-hook into a temporary folder
// (once per test process; Main removes it). A command whose folder does not
// exist yet skips the test; one that does not build fails it.
func Binaries(t testing.TB) Bins {
	t.Helper()
	binsOnce.Do(func() { bins, binsSkip, binsErr = buildBinaries() })
	if binsSkip != "" {
		t.Skip(binsSkip)
	}
	if binsErr != nil {
		t.Fatalf("testbed: building ARCH's binaries: %v", binsErr)
	}
	return bins
}

func buildBinaries() (Bins, string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return Bins{}, "", err
	}
	for _, cmd := range []string{"arch-wrapper", "arch-hook"} {
		if _, err := os.Stat(filepath.Join(root, "cmd", cmd)); errors.Is(err, os.ErrNotExist) {
			return Bins{}, "", fmt.Errorf("cmd/%s does not exist in %s", cmd, root)
		}
	}
	dir, err := os.MkdirTemp("", "arch-e2e-bin-")
	if err != nil {
		return Bins{}, "", err
	}
	tempDirs.Lock()
	tempDirs.paths = append(tempDirs.paths, dir)
	tempDirs.Unlock()
	b := Bins{Wrapper: filepath.Join(dir, "arch-wrapper"), Hook: filepath.Join(dir, "arch-hook")}
	// The Makefile holds the one build recipe (cgo, static, tags); the
	// test bed's wrapper has the fault points (docs/faults.md).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "build", "BIN="+dir, "TAGS=archfault")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(runtime.GOROOT(), "bin")+":"+os.Getenv("PATH"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		return Bins{}, "", fmt.Errorf("make build BIN=%s: %v\n%s", dir, err, msg)
	}
	return b, "", nil
}

// ModuleRoot finds the repository root from the working directory (a test
// runs in its package's folder).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// Main runs the tests of an end-to-end package and then removes the
// process-wide folders (built binaries). Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	tempDirs.Lock()
	defer tempDirs.Unlock()
	for _, d := range tempDirs.paths {
		_ = os.RemoveAll(d)
	}
	return code
}
