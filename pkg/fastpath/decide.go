//go:build cgo

package fastpath

// The C fast path's decision, callable from Go for the differential tests
// (cgo is not allowed in _test.go files). Nothing in arch-wrapper calls
// these functions: the constructor calls the same C code directly.

/*
#include <stdlib.h>
int arch_fastpath_decide(int argc, char **argv, char **envp, char *runc, size_t runclen);
int arch_config_value(char **envp, const char *key, char *out, size_t outlen);
int arch_state_dir(char **envp, char *dir, size_t dirlen);
*/
import "C"

import (
	"sync"
	"unsafe"
)

// The C side keeps its buffers in static storage, as a constructor that
// runs once may: one call at a time.
var cMu sync.Mutex

// cStrings is a NULL-terminated char** copy of ss, freed by free.
type cStrings struct {
	p **C.char
	n int
}

func newCStrings(ss []string) cStrings {
	size := unsafe.Sizeof((*C.char)(nil))
	p := (**C.char)(C.malloc(C.size_t(uintptr(len(ss)+1) * size)))
	arr := unsafe.Slice(p, len(ss)+1)
	for i, s := range ss {
		arr[i] = C.CString(s)
	}
	arr[len(ss)] = nil
	return cStrings{p, len(ss)}
}

func (c cStrings) free() {
	for _, s := range unsafe.Slice(c.p, c.n) {
		C.free(unsafe.Pointer(s))
	}
	C.free(unsafe.Pointer(c.p))
}

// The sizes of the buffers arch_fastpath gives the same functions.
const (
	runcBufLen  = 4096
	stateBufLen = 4096
)

// decide runs arch_fastpath_decide: the runc the fast path would exec for
// argv (program name included) in the environment env, or ok false when
// the call would go to Go. A string holding a NUL cannot reach a process's
// argv or environment; the caller must not pass one.
func decide(argv, env []string) (runc string, ok bool) {
	cMu.Lock()
	defer cMu.Unlock()
	a, e := newCStrings(argv), newCStrings(env)
	defer a.free()
	defer e.free()
	buf := (*C.char)(C.malloc(runcBufLen))
	defer C.free(unsafe.Pointer(buf))
	if C.arch_fastpath_decide(C.int(len(argv)), a.p, e.p, buf, runcBufLen) == 0 {
		return "", false
	}
	return C.GoString(buf), true
}

// configValue runs arch_config_value: 1 with the value, 0 when the file
// has no such key, -1 when the C side is in doubt.
func configValue(env []string, key string, outlen int) (string, int) {
	cMu.Lock()
	defer cMu.Unlock()
	e := newCStrings(env)
	defer e.free()
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	buf := (*C.char)(C.malloc(C.size_t(outlen)))
	defer C.free(unsafe.Pointer(buf))
	r := int(C.arch_config_value(e.p, k, buf, C.size_t(outlen)))
	if r != 1 {
		return "", r
	}
	return C.GoString(buf), r
}

// stateDir runs arch_state_dir: the folder the fast path looks for enabled
// markers in, or ok false when it is in doubt (and sends exec and pause to
// Go).
func stateDir(env []string) (dir string, ok bool) {
	cMu.Lock()
	defer cMu.Unlock()
	e := newCStrings(env)
	defer e.free()
	buf := (*C.char)(C.malloc(stateBufLen))
	defer C.free(unsafe.Pointer(buf))
	if C.arch_state_dir(e.p, buf, stateBufLen) < 0 {
		return "", false
	}
	return C.GoString(buf), true
}
