package archprof

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

func TestPath(t *testing.T) {
	for _, c := range []struct{ prefix, command, want string }{
		{"/w/cpu", "checkpoint", "/w/cpu.checkpoint.42"},
		{"/w/cpu", "checkpoint-all", "/w/cpu.checkpoint-all.42"},
		{"/w/cpu", "", "/w/cpu.none.42"},
		{"/w/cpu", "../x y", "/w/cpu.___x_y.42"},
	} {
		if got := Path(c.prefix, c.command, 42); got != c.want {
			t.Errorf("Path(%q, %q) = %q; want %q", c.prefix, c.command, got, c.want)
		}
	}
}

func TestRuncCommand(t *testing.T) {
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"runc", "checkpoint", "id"}, "checkpoint"},
		// containerd's shim puts global flags first; --log takes a value.
		{[]string{"runc", "--root", "/r", "--log", "/l.json", "--log-format", "json", "create", "--bundle", "/b", "id"}, "create"},
		{[]string{"runc", "--systemd-cgroup", "restore", "-d", "id"}, "restore"},
		{[]string{"runc", "--version"}, ""},
		{[]string{"runc"}, ""},
		{[]string{"runc", "--root"}, ""}, // a value flag without its value
	} {
		if got := RuncCommand(c.argv); got != c.want {
			t.Errorf("RuncCommand(%q) = %q; want %q", c.argv, got, c.want)
		}
	}
}

// Start with neither variable set profiles nothing and writes nothing.
func TestStartUnset(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where an empty prefix would write
	Start("checkpoint", func(string) string { return "" })()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files written: %v", ents)
	}
}

// Start writes both files when stopped, complete, under their names, and
// leaves no process-wide profiling timer armed while it runs (execve would
// hand it to runc).
func TestStartWritesBothAndNoProcessTimer(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{EnvCPUProfile: filepath.Join(dir, "cpu"), EnvTrace: filepath.Join(dir, "trace")}
	stop := Start("checkpoint", func(k string) string { return env[k] })
	var it [4]int64
	if _, _, errno := syscall.RawSyscall(syscall.SYS_GETITIMER, itimerProf, uintptr(unsafe.Pointer(&it)), 0); errno != 0 {
		t.Fatal(errno)
	}
	burn := 0
	for i := range 20_000_000 {
		burn += i % 7
	}
	stop()
	if it != [4]int64{} {
		t.Errorf("ITIMER_PROF armed while profiling: %v", it)
	}
	pid := os.Getpid()
	cpu, err := os.ReadFile(Path(env[EnvCPUProfile], "checkpoint", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(cpu, []byte{0x1f, 0x8b}) { // pprof's gzipped protobuf
		t.Errorf("the CPU profile is not gzip: % x", cpu[:min(len(cpu), 8)])
	}
	tr, err := os.ReadFile(Path(env[EnvTrace], "checkpoint", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(tr, []byte("go 1.")) {
		t.Errorf("the trace has no header: %q", tr[:min(len(tr), 16)])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("want exactly the two files, got %v (burn %d)", ents, burn)
	}
}
