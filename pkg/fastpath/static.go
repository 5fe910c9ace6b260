//go:build cgo && osusergo && netgo

package fastpath

// A static binary starts without ld.so: the pass-through fast path then
// costs little more than the extra execve. The tags keep glibc's NSS (which
// a static binary cannot load safely) out of os/user and net.

// #cgo LDFLAGS: -static
import "C"
