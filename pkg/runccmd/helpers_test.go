package runccmd

import (
	"slices"
	"strings"
	"testing"
)

// Realistic global flags, as go-runc writes them.
const (
	cdGlobal = "--root /run/containerd/runc/default --log /run/containerd/io.containerd.runtime.v2.task/default/c1/log.json --log-format json"
	cdBundle = "/run/containerd/io.containerd.runtime.v2.task/default/c1"
	k8sID    = "3f1c9a0e6d2b4c8f9e7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a"
	k8sGlob  = "--root /run/containerd/runc/k8s.io --log /run/containerd/io.containerd.runtime.v2.task/k8s.io/" + k8sID + "/log.json --log-format json --systemd-cgroup"
	k8sBndl  = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + k8sID
	dockID   = "9b2e4c6a8d0f1e3a5c7b9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a"
	dkGlobal = "--root /var/run/docker/runtime-runc/moby --log /run/containerd/io.containerd.runtime.v2.task/moby/" + dockID + "/log.json --log-format json"
	dkBundle = "/run/containerd/io.containerd.runtime.v2.task/moby/" + dockID
)

// argv splits a command line on spaces; tokens with spaces need a literal.
func argv(s ...string) []string {
	var out []string
	for _, part := range s {
		out = append(out, strings.Fields(part)...)
	}
	return out
}

func mustParse(t *testing.T, a []string) *Command {
	t.Helper()
	c, err := Parse(a)
	if err != nil {
		t.Fatalf("Parse(%q): %v", a, err)
	}
	return c
}

func checkArgv(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}
