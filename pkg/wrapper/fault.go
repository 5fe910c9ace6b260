package wrapper

import (
	"os"
	"syscall"
	"time"
)

// EnvFault arms a fault point for the fault-injection tests (docs/faults.md):
// when the wrapper's environment (containerd's) names a stage, the wrapper
// kills itself with SIGKILL there, as an OOM kill or a node crash would, so
// that the tests can prove every stage leaves a consistent container and
// store. Unset in production; a wrong value does nothing.
const EnvFault = "ARCH_TEST_FAULT"

// EnvFaultOnce, when set, names a file: the fault fires only if it can
// create that file, so it fires once per test and the node then recovers.
const EnvFaultOnce = "ARCH_TEST_FAULT_ONCE"

// The stages a fault can be armed at.
const (
	faultCheckpointFrozen    = "checkpoint:frozen"    // container frozen, dump not started
	faultCheckpointDump      = "checkpoint:dump"      // while CRIU writes the dump
	faultCheckpointArchive   = "checkpoint:archive"   // while the archive is written
	faultCheckpointArchived  = "checkpoint:archived"  // archive renamed, manifest not yet
	faultCheckpointCommitted = "checkpoint:committed" // manifest renamed, container not stopped
	faultCheckpointStopped   = "checkpoint:stopped"   // container stopped, record not updated
	// faultCheckpointLinger does not kill the wrapper: the killed
	// container's init is seen alive for faultLingerWait, as a process in D
	// state on a network file system is.
	faultCheckpointLinger = "checkpoint:linger"
	faultRestoreUnpack    = "restore:unpack"  // while the image is unpacked
	faultRestoreApplied   = "restore:applied" // files applied, runc restore not started
	faultRestoreRunc      = "restore:runc"    // while runc restore runs
)

func (c *call) faultArmed(stage string) bool { return c.getenv(EnvFault) == stage }

// faultLingerWait replaces exitWait under faultCheckpointLinger.
const faultLingerWait = 2 * time.Second

// fault kills the wrapper if stage is armed (and, with EnvFaultOnce, has
// not fired yet).
func (c *call) fault(stage string) {
	if c.faultArmed(stage) && c.firstFault() {
		c.logger().Warn().Str("stage", stage).Msg("fault injection: killing the wrapper")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}

// faultOnce returns a func that kills the wrapper on its first call if
// stage is armed (for callbacks such as a commit's progress), or nil.
func (c *call) faultOnce(stage string) func() {
	if !c.faultArmed(stage) {
		return nil
	}
	return func() { c.fault(stage) }
}

// faultWhenFilled kills the wrapper, if stage is armed, as soon as dir
// holds an entry: "during" a child's work on dir.
func (c *call) faultWhenFilled(stage, dir string) func() {
	if !c.faultArmed(stage) {
		return nil
	}
	return func() {
		go func() {
			for {
				if ents, _ := os.ReadDir(dir); len(ents) > 0 {
					c.fault(stage)
					return // it has fired before: the once-file exists
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
}

func (c *call) firstFault() bool {
	once := c.getenv(EnvFaultOnce)
	if once == "" {
		return true
	}
	f, err := os.OpenFile(once, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
