package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// TestStackIsTheOneAsked proves which stack the suite ran on: the
// containerd, ctr and runc every test starts are the active stack's.
func TestStackIsTheOneAsked(t *testing.T) {
	testbed.Require(t)
	want := map[string]string{"containerd": " 1.6.", "ctr": " 1.6.", "runc": "runc version 1.1."}
	if testbed.ActiveStack.Current() {
		want = map[string]string{"containerd": "v2.", "ctr": "v2.", "runc": "runc version 1.5."}
	}
	for tool, version := range want {
		bin, err := testbed.LookPath(tool)
		must(t, err)
		out, err := exec.Command(bin, "--version").CombinedOutput()
		must(t, err)
		if !strings.Contains(string(out), version) {
			t.Fatalf("stack %s: %s --version says %q, want %s", testbed.ActiveStack.Name, bin, out, version)
		}
		t.Logf("stack %s: %s: %s", testbed.ActiveStack.Name, bin, strings.SplitN(string(out), "\n", 2)[0])
	}
}
