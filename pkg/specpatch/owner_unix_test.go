//go:build unix

package specpatch

import (
	"os"
	"syscall"
	"testing"
)

func TestPatchFileKeepsOwnerWhenRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file another owner")
	}
	p := copyFixture(t, "containerd-1.6-ctr-run.json", 0o644)
	if err := os.Chown(p, 12345, 23456); err != nil {
		t.Fatal(err)
	}
	if changed, err := PatchFile(p, archMods()...); err != nil || !changed {
		t.Fatalf("PatchFile = %v, %v", changed, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if sys.Uid != 12345 || sys.Gid != 23456 || st.Mode() != 0o644 {
		t.Fatalf("owner %d:%d mode %v, want 12345:23456 -rw-r--r--", sys.Uid, sys.Gid, st.Mode())
	}
}
