package e2e

import (
	"fmt"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// TestCheckpointLeavesASharedNetworkUnlocked: an enabled container that
// joins another container's network namespace (a pod's, Docker's
// --network container:X) is checkpointed. CRIU locks that namespace for
// the dump; it outlives the checkpointed container, so it must come out
// unlocked, or the other container (here not enabled) loses its network.
// The restore joins the same namespace again and the count goes on.
func TestCheckpointLeavesASharedNetworkUnlocked(t *testing.T) {
	n := newArchNode(t, "sharednet", "", "")
	must(t, n.Run(ns, testbed.ShellCounterRef, "owner", testbed.RunOpts{Detach: true}))
	must(t, n.WaitStatus(ns, "owner", testbed.StatusRunning, statusTimeout))
	pid, err := n.TaskPid(ns, "owner")
	must(t, err)
	join := testbed.RunOpts{RuncBinary: n.wrapper, Env: map[string]string{"ARCH_ENABLE": "1"}, Detach: true,
		Args: []string{"--with-ns", fmt.Sprintf("network:/proc/%d/ns/net", pid)}}
	must(t, n.Run(ns, testbed.CCounterRef, "joiner", join))
	must(t, n.WaitStatus(ns, "joiner", testbed.StatusRunning, statusTimeout))
	waitLogAbove(t, n.TaskLog(ns, "joiner"), 3)
	last := n.checkpointStop(t, "joiner")
	mustHaveNetwork(t, n, "owner")
	n.remove(t, "joiner")

	must(t, n.Run(ns, testbed.CCounterRef, "joiner", join))
	must(t, n.WaitStatus(ns, "joiner", testbed.StatusRunning, statusTimeout))
	waitLogAbove(t, n.TaskLog(ns, "joiner"), last[len(last)-1]+2)
	must(t, consecutive(logNumbers(t, n.TaskLog(ns, "joiner"))))
	mustHaveNetwork(t, n, "owner")
	must(t, n.Cleanup(ns, "joiner"))
	must(t, n.Cleanup(ns, "owner"))
}
