package archlog

import "syscall"

// syscall_O_CLOEXEC keeps ARCH's log descriptors out of the real runc and of
// the container when the wrapper hands over with exec.
const syscall_O_CLOEXEC = syscall.O_CLOEXEC
