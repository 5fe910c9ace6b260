package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The wrapper `make build` ships has no fault points: it was built without
// the archfault tag, and neither the variables that arm them nor a stage
// name are in the binary. (The e2e test bed builds with TAGS=archfault, and
// its fault tests fail without them.)
func TestShippedWrapperHasNoFaultPoints(t *testing.T) {
	out, err := exec.Command("go", "version", "-m", wrapperBin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-tags=") {
		t.Fatalf("go version -m shows no build tags:\n%s", out)
	}
	if strings.Contains(string(out), "archfault") {
		t.Fatalf("the shipped wrapper is built with archfault:\n%s", out)
	}
	bin, err := os.ReadFile(wrapperBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ARCH_TEST_FAULT", "ARCH_TEST_FREEZE_FAILS", "checkpoint:frozen", "restore:runc"} {
		if bytes.Contains(bin, []byte(s)) {
			t.Errorf("the shipped wrapper contains %q", s)
		}
	}
}

// Nor is it profiled: the variables of the benchmarks' build are not in
// the binary (deps_test.go checks that no profiler is linked).
func TestShippedWrapperReadsNoProfileVariables(t *testing.T) {
	bin, err := os.ReadFile(wrapperBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ARCH_CPUPROFILE", "ARCH_TRACE"} {
		if bytes.Contains(bin, []byte(s)) {
			t.Errorf("the shipped wrapper contains %q", s)
		}
	}
}
