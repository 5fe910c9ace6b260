package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Without podman the row is skipped, with one line, and the bench succeeds
// (no root needed: nothing else runs).
func TestPodmanAbsentSkips(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	err = podmanSideBySide([]string{"-podman", filepath.Join(t.TempDir(), "podman")})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "podman: not installed, row skipped\n" {
		t.Fatalf("output %q", out)
	}
}

func TestSizes(t *testing.T) {
	got := sizes([]string{"none", "zstd"}, func(c string) int64 {
		if c == "none" {
			return 256 << 20
		}
		return 3 << 19
	})
	if got != "256.0 MiB (none), 1.5 MiB (zstd)" {
		t.Errorf("sizes = %q", got)
	}
}
