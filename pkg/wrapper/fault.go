//go:build archfault

// The fault points, compiled only into test builds (`go build -tags
// archfault`, as the e2e test bed builds): `make build`, what ships, has
// none of this (fault_off.go).

package wrapper

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/arch-ckpt/arch/pkg/realrunc"
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

// FaultInjection reports whether this build has fault points.
const FaultInjection = true

func (c *call) faultArmed(stage string) bool { return c.getenv(EnvFault) == stage }

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

// EnvFreezeFails, for the fault-injection tests (docs/faults.md), makes
// freeze attempts fail as runc's "unable to freeze" does: "N" fails the
// first N attempts of every checkpoint's or pause's freeze; "calls:N"
// fails every attempt of the first N calls that freeze a container (so
// that whole checkpoints fail, for checkpoint-all's retries). Unset in
// production.
const EnvFreezeFails = "ARCH_TEST_FREEZE_FAILS"

// injectedFreezeFailure fails attempt as runc's freezer does, when
// EnvFreezeFails says so, or returns nil.
func (c *call) injectedFreezeFailure(attempt int, out io.Writer) error {
	if !c.freezeFaultFires(attempt) {
		return nil
	}
	fmt.Fprintf(out, "time=%q level=error msg=\"unable to freeze\" (injected: %s)\n", time.Now().Format(time.RFC3339), EnvFreezeFails)
	return &realrunc.ExitError{Args: []string{"pause", c.cmd.ID}, Code: 1}
}

// freezeFaultFires reports whether attempt should fail by injection.
func (c *call) freezeFaultFires(attempt int) bool {
	v := c.getenv(EnvFreezeFails)
	if v == "" {
		return false
	}
	var n int
	if _, err := fmt.Sscanf(v, "calls:%d", &n); err == nil {
		return c.faultCall() <= n
	}
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil {
		return false
	}
	return attempt <= n
}

// faultCall numbers this call among the calls that froze the container
// (a counter file beside its record), counting once per call.
func (c *call) faultCall() int {
	if c.freezeCall > 0 {
		return c.freezeCall
	}
	c.freezeCall = 1 << 30
	p, err := c.records().Path(c.root(), c.cmd.ID)
	if err != nil {
		return c.freezeCall
	}
	data, _ := os.ReadFile(p + ".freezefaults")
	var n int
	fmt.Sscanf(string(data), "%d", &n)
	n++
	if os.WriteFile(p+".freezefaults", []byte(fmt.Sprint(n)), 0o600) == nil {
		c.freezeCall = n
	}
	return c.freezeCall
}
