package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
	"github.com/arch-ckpt/arch/pkg/drain"
)

// TestKubernetesContainerRestartsWhereItStopped drives containerd's CRI
// plugin as the kubelet does (a pod, a container in it; config.json then
// carries the CRI annotations, shared namespaces and mounts of a real pod),
// with ARCH as the default runtime: the node drain checkpoints the enabled
// container (the pod's sandbox is not enabled and is left alone), and the
// container's next start in the same pod, which is how the kubelet restarts
// a container that exited, restores it: its new log goes on from the count
// the old one stopped at. The key is namespace/pod/container.
func TestKubernetesContainerRestartsWhereItStopped(t *testing.T) {
	n := newArchNode(t, "k8s", "", "", testbed.WithCRI(testbed.Binaries(t).Hook, testbed.Binaries(t).Wrapper))
	const k8sNS = "k8s.io"
	must(t, n.Import(k8sNS, testbed.ShellCounterImage(t)))
	c := n.CRI(t)
	logs := filepath.Join(n.Dir, "pods", "prod_train-0")
	pod, err := c.RunPod("prod", "train-0", logs)
	must(t, err)
	env := map[string]string{"ARCH_ENABLE": "1"}
	first, err := c.StartContainer(pod, "main", 0, testbed.ShellCounterRef, env)
	must(t, err)
	waitCRICount(t, filepath.Join(logs, "main_0.log"), 5)

	rep, r := checkpointAll(t, n, "--namespace", k8sNS)
	if r.code != 0 {
		t.Fatalf("checkpoint-all: exit %d\n%s", r.code, r.stderr)
	}
	for _, res := range rep.Results {
		switch {
		case res.ID == first && (res.State != drain.Checkpointed || res.Key != "prod/train-0/main"):
			t.Fatalf("the pod's container: %+v", res)
		case res.ID == pod.ID && res.State != drain.Skipped:
			t.Fatalf("the pod's sandbox (not enabled): %+v", res)
		}
	}
	testbed.Eventually(t, statusTimeout, func() error {
		if st, err := c.ContainerState(first); err != nil || st != "CONTAINER_EXITED" {
			return fmt.Errorf("container %s: %s %v", first, st, err)
		}
		return nil
	})
	// checkpointctl shows the image ARCH wrote as the kubelet's own.
	checkpointctlSees(t, archivePath(t, n.arch.Store, "prod/train-0/main"), "main", testbed.ShellCounterRef)
	before := criCounts(t, filepath.Join(logs, "main_0.log"))
	last := before[len(before)-1]

	// The kubelet's restart: attempt 1 of the same container in the same pod.
	second, err := c.StartContainer(pod, "main", 1, testbed.ShellCounterRef, env)
	must(t, err)
	after := waitCRICount(t, filepath.Join(logs, "main_1.log"), last+3)
	if after[0] != last+1 {
		t.Fatalf("the restarted container's log starts at %d; the first one stopped at %d", after[0], last)
	}
	for i, v := range after {
		if v != after[0]+i {
			t.Fatalf("the restarted container skips or repeats counts: %v", after)
		}
	}
	if st, err := c.ContainerState(second); err != nil || st != "CONTAINER_RUNNING" {
		t.Fatalf("restarted container: %s %v", st, err)
	}
	if log := n.archLog(); !strings.Contains(log, "create turned into restore") || !strings.Contains(log, `"key":"prod/train-0/main"`) {
		t.Fatalf("ARCH did not restore prod/train-0/main:\n%s", log)
	}
}

// criCounts parses a CRI log of a counter.
func criCounts(t *testing.T, path string) []int {
	t.Helper()
	lines, err := testbed.CRILogLines(path)
	must(t, err)
	return parseCounts(t, path, lines)
}

// waitCRICount polls a CRI log until its last count exceeds n.
func waitCRICount(t *testing.T, path string, n int) []int {
	t.Helper()
	return waitCounts(t, path, n, func() []int {
		if _, err := os.Stat(path); err != nil {
			return nil
		}
		return criCounts(t, path)
	})
}
