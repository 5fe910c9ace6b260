package testbed

import (
	"os"
	"path/filepath"
	"strings"
)

// Stack is a containerd + runc pair the end-to-end suite runs on: Debian
// 12's packages (containerd 1.6, runc 1.1), or the current stack that
// hack/install-deps.sh builds into a private prefix (containerd 2.x, runc
// 1.5; hack/lib/stack.sh pins them). ARCH_E2E_STACK picks one.
type Stack struct {
	Name string
	// Bin is put first in the PATH of everything the test bed starts:
	// containerd, ctr, the runc shim and runc come from it ("" for the
	// system's).
	Bin string
	// ConfigVersion is the containerd configuration version written.
	ConfigVersion int
}

// Stacks the suite knows.
var (
	DebianStack  = Stack{Name: "debian", ConfigVersion: 2}
	CurrentStack = Stack{Name: "current", Bin: "/opt/arch/stack-current/bin", ConfigVersion: 3}
)

// EnvStack names the stack of a test run: "debian" (the default) or "current".
const EnvStack = "ARCH_E2E_STACK"

// ActiveStack is the stack this test process runs on.
var ActiveStack = stackFromEnv()

func stackFromEnv() Stack {
	switch strings.TrimSpace(os.Getenv(EnvStack)) {
	case "current":
		if p := os.Getenv("ARCH_CURRENT_STACK_PREFIX"); p != "" {
			s := CurrentStack
			s.Bin = filepath.Join(p, "bin")
			return s
		}
		return CurrentStack
	default:
		return DebianStack
	}
}

// Current reports whether the run is on the current stack.
func (s Stack) Current() bool { return s.Name == CurrentStack.Name }
