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

// The shipped wrapper links no profiler: only the benchmarks' build (tag
// archprofile) has internal/archprof, runtime/pprof and runtime/trace.
func TestWrapperLinksNoProfiler(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, tags := range []string{"osusergo,netgo", "osusergo,netgo,archprofile"} {
		out, err := exec.Command(goTool, "list", "-deps", "-tags", tags, ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps -tags %s: %v\n%s", tags, err, out)
		}
		var found []string
		for _, pkg := range strings.Fields(string(out)) {
			if pkg == "runtime/pprof" || pkg == "runtime/trace" || strings.HasSuffix(pkg, "/internal/archprof") {
				found = append(found, pkg)
			}
		}
		want := 0
		if strings.Contains(tags, "archprofile") {
			want = 3
		}
		if len(found) != want {
			t.Errorf("-tags %s links %v", tags, found)
		}
	}
}
