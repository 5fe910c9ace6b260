//go:build cgo

// Package fastpath hands pass-through runc calls to the real runc before the
// Go runtime even starts. Importing it (for its side effect) installs a C
// constructor, as runc's own nsexec does, that runs when the wrapper binary
// is loaded: if the command line is one ARCH never touches (state, ps, exec,
// pause, events, update, features, --version, ...) and the real runc
// can be found without doubt, it execve()s runc with the exact argv and
// environment. Anything else, or any doubt, returns to Go, which has the full
// logic (and the logs). The Go runtime's start-up is most of what a
// pass-through call would otherwise cost.
//
// Built with the tags osusergo,netgo (as the Makefile does), the binary is
// linked statically, so that no dynamic loader runs before the constructor;
// without them it is a normal dynamic cgo binary.
//
// Set ARCH_NO_FASTPATH=1 in the environment to disable it (tests use this to
// check that the Go path gives the same results).
//
// The C side keeps its own copy of what Go knows: its flag tables
// (tables_test.go compares them) and its decisions, which the differential
// fuzz targets hold to Go's through decide.go: whatever C hands straight to
// runc, wrapper.PassesThrough must hand to the same runc (decide_test.go),
// and the two configuration readers must read the same state_dir and runc
// or C must be in doubt (config_test.go).
package fastpath

/*
extern void arch_fastpath(int argc, char **argv, char **envp);
__attribute__((constructor)) static void arch_fastpath_init(int argc, char **argv, char **envp) {
	arch_fastpath(argc, argv, envp);
}
*/
import "C"
