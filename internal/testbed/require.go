package testbed

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Enabled reports whether end-to-end tests must run: ARCH_E2E=1 or CI=true.
func Enabled() bool {
	return os.Getenv("ARCH_E2E") == "1" || os.Getenv("CI") == "true"
}

var (
	depsOnce    sync.Once
	depsProblem []string
)

// Require skips the test unless ARCH_E2E=1 or CI=true; when they are set,
// every missing dependency is a test failure, never a silent skip.
func Require(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skip("end-to-end test: set ARCH_E2E=1 to run it (as root, after hack/install-deps.sh)")
	}
	depsOnce.Do(func() { depsProblem = checkDeps() })
	if len(depsProblem) > 0 {
		t.Fatalf("end-to-end dependencies missing (run hack/install-deps.sh as root):\n  %s", strings.Join(depsProblem, "\n  "))
	}
}

// checkDeps lists what is missing for the end-to-end tests.
func checkDeps() []string {
	var problems []string
	if os.Geteuid() != 0 {
		problems = append(problems, fmt.Sprintf("must run as root (euid %d)", os.Geteuid()))
	}
	for _, bin := range []string{"runc", "containerd", "containerd-shim-runc-v2", "ctr", "iptables-restore", "gcc", "ip"} {
		if _, err := LookPath(bin); err != nil {
			problems = append(problems, fmt.Sprintf("%s not found in %s", bin, DaemonPath))
		}
	}
	if v := os.Getenv(EnvStack); v != "" && v != DebianStack.Name && v != CurrentStack.Name {
		problems = append(problems, fmt.Sprintf("%s=%q is not %q or %q", EnvStack, v, DebianStack.Name, CurrentStack.Name))
	}
	// The stack's own binaries must be there: PATH would quietly give the
	// system's instead.
	if ActiveStack.Bin != "" {
		for _, bin := range []string{"runc", "containerd", "containerd-shim-runc-v2", "ctr"} {
			if st, err := os.Stat(filepath.Join(ActiveStack.Bin, bin)); err != nil || st.Mode()&0o111 == 0 {
				problems = append(problems, fmt.Sprintf("stack %s: %s is missing from %s", ActiveStack.Name, bin, ActiveStack.Bin))
			}
		}
	}
	if st, err := os.Stat("/bin/busybox"); err != nil || !st.Mode().IsRegular() {
		problems = append(problems, "/bin/busybox (static) is missing: apt-get install busybox-static")
	}
	criu, err := LookPath("criu")
	if err != nil {
		return append(problems, "criu not found in "+DaemonPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, criu, "check")
	cmd.Env = baseEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		problems = append(problems, fmt.Sprintf("%s check fails: %v: %s", criu, err, strings.TrimSpace(lastLines(string(out), 3))))
	}
	return problems
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
