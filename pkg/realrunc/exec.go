package realrunc

import (
	"fmt"
	"syscall"
)

// Exec replaces the current process with the real runc, keeping argv, the
// environment, stdio, every inherited descriptor and the pid: the caller
// (containerd's shim) cannot tell the difference. It returns only on failure.
func Exec(runc string, argv, env []string) error {
	err := syscall.Exec(runc, argv, env)
	return fmt.Errorf("exec %s: %w", runc, err)
}
