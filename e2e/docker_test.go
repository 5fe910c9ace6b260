package e2e

import (
	"os"
	"path/filepath"
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
	d, id := runDockerCounter(t, n)

	// 1. Docker's own checkpoint command (exit semantics by default).
	_, err := d.Out("checkpoint", "create", "web", "cp1")
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

// TestDockerStartFromACheckpoint: `docker checkpoint create` of an enabled
// counter leaves Docker's checkpoint folder only ARCH's reference to the
// image it committed (containerd archived no second copy of the dump), and
// `docker start --checkpoint` of it (containerd's own runc restore of that
// folder) restores ARCH's image: `docker logs` counts on without a gap.
// The restored container is checkpointed again; the first checkpoint,
// which no longer names the current image, is refused with the reason
// (the container stays stopped), and the second restores.
func TestDockerStartFromACheckpoint(t *testing.T) {
	n := newArchNode(t, "docker-cp", "", "")
	d, id := runDockerCounter(t, n)

	checkpoint := func(cp string) {
		t.Helper()
		_, err := d.Out("checkpoint", "create", "web", cp)
		must(t, err)
		must(t, d.WaitState("web", "exited", statusTimeout))
		folder := filepath.Join(d.Dir, "data", "containers", id, "checkpoints", cp)
		ents, err := os.ReadDir(folder)
		must(t, err)
		if len(ents) != 1 || ents[0].Name() != imageRefFile {
			t.Fatalf("docker's checkpoint %s holds %v; want only %s", cp, ents, imageRefFile)
		}
		data, err := os.ReadFile(filepath.Join(folder, imageRefFile))
		must(t, err)
		refNamesCurrentImage(t, n, data, "moby/"+id)
	}
	startFrom := func(cp string, served int) {
		t.Helper()
		last := dockerCounts(t, d, "web")
		must(t, dockerStartCheckpoint(t, d, "web", cp))
		must(t, d.WaitState("web", "running", statusTimeout))
		must(t, consecutive(waitDockerCount(t, d, "web", last[len(last)-1]+3)))
		if got := strings.Count(n.archLog(), "restore served from ARCH's image reference"); got != served {
			t.Fatalf("ARCH served %d restores from a reference, want %d:\n%s", got, served, n.archLog())
		}
	}
	checkpoint("cp1")
	startFrom("cp1", 1)

	// cp2 replaces cp1's image: cp1 is refused, cp2 restores.
	checkpoint("cp2")
	err := dockerStartCheckpoint(t, d, "web", "cp1")
	if err == nil || !strings.Contains(err.Error(), "only a key's latest checkpoint restores") {
		t.Fatalf("docker start --checkpoint of a replaced image: %v", err)
	}
	if st, err := d.State("web"); err != nil || st == "running" {
		t.Fatalf("after the refused restore: state %q, %v", st, err)
	}
	startFrom("cp2", 2)
}

// dockerStartCheckpoint runs `docker start --checkpoint cp name`. dockerd
// uploads the checkpoint folder to containerd as a blob, byte for byte the
// one containerd stored at `docker checkpoint create`, which dockerd
// deleted then but containerd's garbage collection removes a moment
// later: until it has, the upload fails with "already exists" (dockerd
// 20.10 does not accept an existing blob), and the start is tried again.
func dockerStartCheckpoint(t *testing.T, d *testbed.Docker, name, cp string) error {
	t.Helper()
	var err error
	perr := testbed.Poll(statusTimeout, func() error {
		_, err = d.Out("start", "--checkpoint", cp, name)
		if err != nil && strings.Contains(err.Error(), "failed to upload checkpoint to containerd") && strings.Contains(err.Error(), "already exists") {
			t.Logf("%v; trying again", err)
			return err
		}
		return nil
	})
	if perr != nil {
		return perr
	}
	return err
}

// runDockerCounter starts dockerd on n's containerd and in it an enabled
// shell counter named "web" (arch-wrapper as the runtime "arch"), and
// waits until it has counted to 5; it returns the Docker daemon and the
// container's id.
func runDockerCounter(t *testing.T, n *archNode) (*testbed.Docker, string) {
	t.Helper()
	d := testbed.StartDocker(t, n.Instance, n.wrapper)
	const ref = "arch-test/docker-counter:latest"
	must(t, d.ImportImage(ref, testbed.BusyboxFiles(t), testbed.ShellCounterConfig))
	out, err := d.Out("run", "-d", "--runtime", "arch", "--network", "none", "-e", "ARCH_ENABLE=1", "--name", "web", ref)
	must(t, err)
	waitDockerCount(t, d, "web", 5)
	return d, strings.TrimSpace(out)
}
