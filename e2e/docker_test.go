package e2e

import (
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
	"github.com/arch-ckpt/arch/pkg/drain"
)

// TestDockerContainerSurvivesCheckpointAndDrain drives ARCH through Docker
// (dockerd 20.10 on the test bed's containerd, arch-wrapper registered as
// the runtime "arch", as in the README's daemon.json): an enabled counter
// is checkpointed by `docker checkpoint create`, then by the node drain
// (`arch-hook checkpoint-all`, which finds it in containerd's "moby"
// namespace), and each time `docker start` of the same container restores
// it: `docker logs` shows one count from 1, with no gap and no restart.
func TestDockerContainerSurvivesCheckpointAndDrain(t *testing.T) {
	n := newArchNode(t, "docker", "", "")
	d := testbed.StartDocker(t, n.Instance, n.wrapper)
	const ref = "arch-test/docker-counter:latest"
	must(t, d.ImportImage(ref, testbed.BusyboxFiles(t), testbed.ShellCounterConfig))
	out, err := d.Out("run", "-d", "--runtime", "arch", "--network", "none", "-e", "ARCH_ENABLE=1", "--name", "web", ref)
	must(t, err)
	id := strings.TrimSpace(out)
	waitDockerCount(t, d, "web", 5)

	// 1. Docker's own checkpoint command (exit semantics by default).
	_, err = d.Out("checkpoint", "create", "web", "cp1")
	must(t, err)
	must(t, d.WaitState("web", "exited", statusTimeout))
	last := dockerCounts(t, d, "web")
	_, err = d.Out("start", "web")
	must(t, err)
	must(t, d.WaitState("web", "running", statusTimeout))
	after := waitDockerCount(t, d, "web", last[len(last)-1]+3)
	must(t, consecutive(after))
	if log := n.archLog(); !strings.Contains(log, "create turned into restore") || !strings.Contains(log, `"key":"moby/`+id+`"`) {
		t.Fatalf("ARCH did not restore moby/%s:\n%s", id, log)
	}

	// 2. The node drain, through containerd's API, in Docker's namespace.
	rep, r := checkpointAll(t, n, "--namespace", "moby")
	if r.code != 0 || len(rep.Results) != 1 || rep.Results[0].State != drain.Checkpointed || rep.Results[0].Namespace != "moby" {
		t.Fatalf("checkpoint-all: exit %d, %+v\n%s", r.code, rep.Results, r.stderr)
	}
	must(t, d.WaitState("web", "exited", statusTimeout))
	last = dockerCounts(t, d, "web")
	_, err = d.Out("start", "web")
	must(t, err)
	must(t, d.WaitState("web", "running", statusTimeout))
	must(t, consecutive(waitDockerCount(t, d, "web", last[len(last)-1]+3)))
}

// dockerCounts parses `docker logs` of a counter: one integer per line.
func dockerCounts(t *testing.T, d *testbed.Docker, name string) []int {
	t.Helper()
	out, err := d.Out("logs", name)
	must(t, err)
	return parseCounts(t, "docker logs "+name, strings.Fields(out))
}

// waitDockerCount polls `docker logs` until the last count exceeds n.
func waitDockerCount(t *testing.T, d *testbed.Docker, name string, n int) []int {
	t.Helper()
	return waitCounts(t, "docker logs "+name, n, func() []int { return dockerCounts(t, d, name) })
}
