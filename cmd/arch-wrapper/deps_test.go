package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// arch-wrapper sits in front of every runc call and links no TOML library:
// go-toml is arch-hook's, to check the edits of `arch-hook install
// --containerd` (pkg/install).
func TestWrapperLinksNoTOMLLibrary(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "-tags", "osusergo,netgo", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "toml") || strings.HasSuffix(pkg, "/pkg/install") {
			t.Errorf("arch-wrapper depends on %s", pkg)
		}
	}
}
