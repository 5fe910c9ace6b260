package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/internal/archprof"
)

// profiles finds the files archprof.Path names under a prefix, by
// command, and nothing else: not the binaries kept beside them, not
// another prefix's files, not an earlier run's.
func TestProfilesByCommand(t *testing.T) {
	dir := t.TempDir()
	prefix := filepath.Join(dir, "cpu")
	since := time.Now().Add(-time.Minute)
	mk := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{
		filepath.Base(archprof.Path(prefix, "checkpoint", 11)),
		filepath.Base(archprof.Path(prefix, "checkpoint", 12)),
		filepath.Base(archprof.Path(prefix, "checkpoint-all", 13)),
		filepath.Base(archprof.Path(prefix, "", 14)),
		"cpu.arch-wrapper.bin",     // the binary kept beside
		"cpux.checkpoint.15",       // another prefix
		"cpu.checkpoint.16.tmp",    // not a profile
		".cpu.checkpoint.17.tmp",   // one being written
		"trace.checkpoint-all.100", // the other kind
	} {
		mk(f)
	}
	old := filepath.Join(dir, "cpu.create.9")
	mk(filepath.Base(old))
	if err := os.Chtimes(old, since.Add(-time.Hour), since.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := profiles(prefix, since)
	want := map[string][]string{
		"checkpoint":     {prefix + ".checkpoint.11", prefix + ".checkpoint.12"},
		"checkpoint-all": {prefix + ".checkpoint-all.13"},
		"none":           {prefix + ".none.14"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("profiles = %v; want %v", got, want)
	}
	if s := countsOf(got); s != "checkpoint 2, checkpoint-all 1, none 1" {
		t.Errorf("countsOf = %q", s)
	}
}

func TestProfilingEnviron(t *testing.T) {
	p := &profiling{cpu: "/w/cpu"}
	if got := p.environ(); !reflect.DeepEqual(got, []string{"ARCH_CPUPROFILE=/w/cpu"}) {
		t.Errorf("environ = %q", got)
	}
	p.trace = "/w/tr"
	if got := p.environ(); !reflect.DeepEqual(got, []string{"ARCH_CPUPROFILE=/w/cpu", "ARCH_TRACE=/w/tr"}) {
		t.Errorf("environ = %q", got)
	}
	if (&profiling{}).environ() != nil {
		t.Error("no prefixes, yet an environment")
	}
	same := &profiling{cpu: "/w/p", trace: "/w/p"}
	if err := same.setUp(&env{}, t.TempDir()); err == nil {
		t.Error("setUp accepted one prefix for both")
	}
}

func TestIndent(t *testing.T) {
	if got := string(indent([]byte("a\nb\n"))); got != "  a\n  b\n" {
		t.Errorf("indent = %q", got)
	}
}
