// Package archprof profiles one ARCH process for the benchmarks (bench
// ckpt and bench drain -cpuprofile/-trace): a CPU profile and/or an
// execution trace of the whole process, written to a file of its own when
// it ends. Only binaries built with the archprofile tag import it
// (cmd/arch-wrapper/profile.go, cmd/arch-hook/profile.go): what ships has
// none of it.
//
// The CPU profile samples with the runtime's per-thread timers only: Go
// also arms the process-wide ITIMER_PROF, which execve keeps, and whose
// SIGPROF would kill the program arch-wrapper replaces itself with (runc)
// before that program has a handler (see noProcessTimer).
//
// Both are kept in memory and written when the process stops them: a
// process that never returns to its main (arch-wrapper handing a call to
// runc with execve) leaves no file rather than a truncated one. Nothing is
// ever written to stdout or stderr (arch-wrapper's rule): errors are
// dropped, and the file is then missing.
package archprof

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/arch-ckpt/arch/pkg/runccmd"
)

// The environment variables that ask for a profile: each holds a path
// prefix, to which Path adds the command and the pid.
const (
	EnvCPUProfile = "ARCH_CPUPROFILE"
	EnvTrace      = "ARCH_TRACE"
)

// Path is the file of one process's profile: prefix.<command>.<pid>, the
// command reduced to a file name's safe characters ("none" when empty).
func Path(prefix, command string, pid int) string {
	return prefix + "." + safeName(command) + "." + strconv.Itoa(pid)
}

func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if s == "" {
		return "none"
	}
	return s
}

// RuncCommand is the subcommand of a runc command line (os.Args): the
// first token that is not a global flag or its value ("checkpoint" in
// `runc --root R --log L checkpoint ID`), "" when there is none.
func RuncCommand(argv []string) string {
	if len(argv) < 2 {
		return ""
	}
	c, err := runccmd.Parse(argv[1:])
	if err != nil {
		return ""
	}
	return c.Name
}

// Start starts what getenv asks for (EnvCPUProfile, EnvTrace) for a
// process running command, and returns the function that stops it and
// writes the files. With neither set it does nothing.
func Start(command string, getenv func(string) string) (stop func()) {
	cpuPrefix, tracePrefix := getenv(EnvCPUProfile), getenv(EnvTrace)
	var cpu, tr *bytes.Buffer
	if cpuPrefix != "" {
		cpu = new(bytes.Buffer)
		if pprof.StartCPUProfile(cpu) != nil {
			cpu = nil
		} else {
			noProcessTimer()
		}
	}
	if tracePrefix != "" {
		tr = new(bytes.Buffer)
		if trace.Start(tr) != nil {
			tr = nil
		}
	}
	return func() {
		pid := os.Getpid()
		if cpu != nil {
			pprof.StopCPUProfile()
			write(Path(cpuPrefix, command, pid), cpu.Bytes())
		}
		if tr != nil {
			trace.Stop()
			write(Path(tracePrefix, command, pid), tr.Bytes())
		}
	}
}

// noProcessTimer disarms the process-wide profiling timer that
// StartCPUProfile armed beside the per-thread ones (timer_create, which
// execve deletes): an interval timer survives execve, and the replacing
// program gets SIGPROF, whose default action ends it, from its first
// instructions on. Go samples every thread that runs Go code through its
// own timer; only the process timer's samples of threads without one
// (none in these programs) are lost.
func noProcessTimer() {
	var zero [4]int64 // struct itimerval: two struct timeval
	syscall.RawSyscall(syscall.SYS_SETITIMER, itimerProf, uintptr(unsafe.Pointer(&zero)), 0)
}

const itimerProf = 2 // ITIMER_PROF

// write writes a profile whole or not at all (a reader globbing the
// prefix never sees half a file).
func write(path string, data []byte) {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if os.WriteFile(tmp, data, 0o644) != nil {
		os.Remove(tmp)
		return
	}
	if os.Rename(tmp, path) != nil {
		os.Remove(tmp)
	}
}
