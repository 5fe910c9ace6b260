package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/internal/testbed"
	"github.com/arch-ckpt/arch/pkg/drain"
)

// batchNS is the second namespace of the checkpoint-all tests.
const batchNS = "batch"

// drainTimeout bounds one arch-hook checkpoint-all run.
const drainTimeout = 2 * time.Minute

// importBatch imports the counter images into batchNS too.
func importBatch(t *testing.T, nodes ...*archNode) {
	t.Helper()
	for _, n := range nodes {
		for _, img := range []testbed.Image{testbed.ShellCounterImage(t), testbed.CCounterImage(t)} {
			must(t, n.Import(batchNS, img))
		}
	}
}

// counter is one test container of the checkpoint-all tests.
type counter struct {
	ns, id, ref string
	enabled     bool
	env         map[string]string
}

func (c counter) name() string { return c.ns + "/" + c.id }

// start runs c through arch-wrapper (enabled or not) and waits until it counts.
func (c counter) start(t *testing.T, n *archNode) {
	t.Helper()
	env := map[string]string{}
	if c.enabled {
		env["ARCH_ENABLE"] = "1"
	}
	for k, v := range c.env {
		env[k] = v
	}
	must(t, n.Run(c.ns, c.ref, c.id, testbed.RunOpts{RuncBinary: n.wrapper, Env: env, Detach: true}))
}

// counting waits until every counter's task log shows a count above 3.
func counting(t *testing.T, n *archNode, cs []counter) {
	t.Helper()
	for _, c := range cs {
		waitLogAbove(t, n.TaskLog(c.ns, c.id), 3)
	}
}

// hookRun is one arch-hook run.
type hookRun struct {
	stdout, stderr string
	code           int
}

// runHook runs arch-hook with args against node n (its socket and ARCH
// configuration), bounded by drainTimeout.
func runHook(t *testing.T, n *archNode, args ...string) hookRun {
	t.Helper()
	args = append(args, "--address", n.Address, "--config", n.arch.Config)
	cmd := exec.Command(testbed.Binaries(t).Hook, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"PATH=" + testbed.DaemonPath}
	must(t, cmd.Start())
	timer := time.AfterFunc(drainTimeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	r := hookRun{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	t.Logf("arch-hook %s: exit %d\nstderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	if err != nil && r.code <= 0 {
		t.Fatalf("arch-hook: %v", err)
	}
	return r
}

// checkpointAll runs `arch-hook checkpoint-all --json` and decodes its report.
func checkpointAll(t *testing.T, n *archNode, args ...string) (*drain.Report, hookRun) {
	t.Helper()
	r := runHook(t, n, append([]string{"checkpoint-all", "--json"}, args...)...)
	var rep drain.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("checkpoint-all --json: %v\n%s", err, r.stdout)
	}
	return &rep, r
}

// resultsByName indexes a report.
func resultsByName(rep *drain.Report) map[string]drain.Result {
	m := map[string]drain.Result{}
	for _, r := range rep.Results {
		m[r.Name()] = r
	}
	return m
}

// maxOverlap is the largest number of checkpoints whose [start, end]
// intervals overlap at one instant.
func maxOverlap(rs []drain.Result) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, r := range rs {
		if r.State == drain.Checkpointed || r.State == drain.Failed {
			edges = append(edges, edge{r.Start, 1}, edge{r.End, -1})
		}
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at.Equal(edges[j].at) {
			return edges[i].delta < edges[j].delta // an end before a start at the same instant
		}
		return edges[i].at.Before(edges[j].at)
	})
	n, top := 0, 0
	for _, e := range edges {
		n += e.delta
		top = max(top, n)
	}
	return top
}

// lastCount is the last count of a task log.
func lastCount(t *testing.T, path string) int {
	t.Helper()
	nums := logNumbers(t, path)
	if len(nums) == 0 {
		t.Fatalf("task log %s is empty", path)
	}
	return nums[len(nums)-1]
}

// TestDrainCheckpointsEveryEnabledContainer: on node A, 10 enabled (one of
// them paused) and 3 plain counters in two namespaces; checkpoint-all
// checkpoints exactly the 10, several at once, leaves the 3 running and
// reports all 13; the 10 then restore on node B (sharing only the store)
// and go on counting.
func TestDrainCheckpointsEveryEnabledContainer(t *testing.T) {
	store := t.TempDir()
	a := newArchNode(t, "drain-a", store, "")
	b := newArchNode(t, "drain-b", store, "")
	importBatch(t, a, b)
	var cs []counter
	for i := range 10 {
		c := counter{ns: ns, id: fmt.Sprintf("job-%d", i), ref: testbed.CCounterRef, enabled: true}
		if i%2 == 1 {
			c.ns, c.ref = batchNS, testbed.ShellCounterRef
		}
		cs = append(cs, c)
	}
	cs = append(cs,
		counter{ns: ns, id: "plain-0", ref: testbed.CCounterRef},
		counter{ns: ns, id: "plain-1", ref: testbed.ShellCounterRef},
		counter{ns: batchNS, id: "plain-2", ref: testbed.CCounterRef})
	for _, c := range cs {
		c.start(t, a)
	}
	counting(t, a, cs)
	// A paused task is checkpointed too.
	must(t, a.Do(cs[0].ns, "task", "pause", cs[0].id))

	rep, run := checkpointAll(t, a, "--parallel", "4")
	if run.code != 0 {
		t.Fatalf("checkpoint-all exited %d", run.code)
	}
	if len(rep.Results) != 13 || rep.Counts != (drain.Counts{Checkpointed: 10, Skipped: 3}) {
		t.Fatalf("%d results, counts %+v", len(rep.Results), rep.Counts)
	}
	byName := resultsByName(rep)
	for _, c := range cs {
		r, ok := byName[c.name()]
		switch {
		case !ok:
			t.Fatalf("%s is not in the report", c.name())
		case c.enabled && (r.State != drain.Checkpointed || r.Key != c.name() || r.Size <= 0):
			t.Fatalf("%s: %+v", c.name(), r)
		case !c.enabled && (r.State != drain.Skipped || !strings.Contains(r.Reason, "not enabled")):
			t.Fatalf("%s: %+v", c.name(), r)
		}
		if !strings.Contains(run.stderr, c.name()) {
			t.Fatalf("the summary table lacks %s", c.name())
		}
	}
	if o := maxOverlap(rep.Results); o < 2 || o > 4 {
		t.Fatalf("at most %d checkpoints overlapped in time; want 2 to 4 (--parallel 4)", o)
	}

	last := map[string]int{}
	for _, c := range cs {
		if !c.enabled {
			st, err := a.TaskStatus(c.ns, c.id)
			if err != nil || st != testbed.StatusRunning {
				t.Fatalf("plain %s: status %q, %v", c.name(), st, err)
			}
			continue
		}
		must(t, a.WaitStatus(c.ns, c.id, testbed.StatusStopped, statusTimeout))
		m := manifest(t, store, c.name())
		if m == nil || m["imageID"] != byName[c.name()].ImageID {
			t.Fatalf("%s: the store's image is not the reported one: %v", c.name(), m)
		}
		last[c.name()] = lastCount(t, a.TaskLog(c.ns, c.id))
	}

	for _, c := range cs[:10] {
		c.start(t, b)
	}
	for _, c := range cs[:10] {
		waitLogAbove(t, b.TaskLog(c.ns, c.id), 0)
		if first := logNumbers(t, b.TaskLog(c.ns, c.id))[0]; first != last[c.name()]+1 {
			t.Fatalf("%s: node B starts at %d; node A stopped at %d", c.name(), first, last[c.name()])
		}
	}
}

// TestDrainFailureKeepsTheContainerRunning: a container whose commit fails
// (its store turned into a regular file after it started) is reported
// failed and keeps counting; the others are checkpointed; checkpoint-all
// exits 1.
func TestDrainFailureKeepsTheContainerRunning(t *testing.T) {
	n := newArchNode(t, "drain-fail", "", "")
	notDir := filepath.Join(testbed.SharedFolder(t), "not-a-folder")
	cs := []counter{
		{ns: ns, id: "good-0", ref: testbed.CCounterRef, enabled: true},
		{ns: ns, id: "broken", ref: testbed.CCounterRef, enabled: true, env: map[string]string{"ARCH_CHECKPOINT_HOST_PATH": notDir}},
		{ns: ns, id: "good-1", ref: testbed.ShellCounterRef, enabled: true},
	}
	for _, c := range cs {
		c.start(t, n)
	}
	must(t, os.WriteFile(notDir, []byte("x"), 0o644))
	counting(t, n, cs)
	rep, run := checkpointAll(t, n, "--parallel", "3")
	if run.code != 1 {
		t.Fatalf("checkpoint-all exited %d; want 1", run.code)
	}
	byName := resultsByName(rep)
	if r := byName[ns+"/broken"]; r.State != drain.Failed || !strings.Contains(r.Reason, "not a folder") {
		t.Fatalf("broken: %+v", r)
	}
	if !strings.Contains(run.stderr, "FAILED") {
		t.Fatal("the summary does not show the failure")
	}
	for _, id := range []string{"good-0", "good-1"} {
		if r := byName[ns+"/"+id]; r.State != drain.Checkpointed {
			t.Fatalf("%s: %+v", id, r)
		}
		must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
	}
	st, err := n.TaskStatus(ns, "broken")
	if err != nil || st != testbed.StatusRunning {
		t.Fatalf("broken: status %q, %v", st, err)
	}
	log := n.TaskLog(ns, "broken")
	waitLogAbove(t, log, lastCount(t, log)+3)
}

// memtouchRef is the image of hack/bench/workload/memtouch: it touches N
// MiB of random memory, writes /tmp/ready, then counts like the counters.
const memtouchRef = "docker.io/arch-test/memtouch:latest"

// memtouchImage builds memtouchRef from the benchmark's source.
func memtouchImage(t *testing.T) testbed.Image {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "hack", "bench", "workload", "memtouch.c"))
	must(t, err)
	files := testbed.BusyboxFiles(t)
	files["/memtouch"] = testbed.File{Content: testbed.CompileStaticC(t, "memtouch", src), Mode: 0o755}
	return testbed.BuildImage(t, memtouchRef, files, testbed.ImageConfig{
		Entrypoint: []string{"/memtouch"},
		Env:        []string{"PATH=/bin"},
		WorkingDir: "/",
	})
}

// TestDrainDryRunEstimatesWithoutCheckpointing: `checkpoint-all --dry-run
// --json` next to an enabled container that touched 64 MiB and a plain
// one reports the enabled one only, with more memory than it touched,
// its writable layer (at least /tmp/ready), and a measured bandwidth of
// the store; it fits the default deadline (exit 0). Nothing is
// checkpointed: the container keeps counting, the store holds no image
// and no probe file.
func TestDrainDryRunEstimatesWithoutCheckpointing(t *testing.T) {
	const touched = 64 << 20
	n := newArchNode(t, "drain-dry", "", "")
	must(t, n.Import(ns, memtouchImage(t)))
	const id = "mem"
	must(t, n.Run(ns, memtouchRef, id, testbed.RunOpts{RuncBinary: n.wrapper, Env: map[string]string{"ARCH_ENABLE": "1"},
		Detach: true, Cmd: []string{"/memtouch", fmt.Sprint(touched >> 20)}}))
	plain := counter{ns: ns, id: "plain", ref: testbed.CCounterRef}
	plain.start(t, n)
	waitLogAbove(t, n.TaskLog(ns, id), 3) // counts once its memory is touched
	counting(t, n, []counter{plain})

	r := runHook(t, n, "checkpoint-all", "--dry-run", "--json")
	var est drain.Estimate
	if err := json.Unmarshal([]byte(r.stdout), &est); err != nil {
		t.Fatalf("checkpoint-all --dry-run --json: %v\n%s", err, r.stdout)
	}
	if r.code != 0 || est.Verdict != drain.Fits || !strings.Contains(r.stderr, "fits:") {
		t.Fatalf("exit %d, verdict %s, unknown %q; want 0 and fits\n%s", r.code, est.Verdict, est.Unknown, r.stdout)
	}
	if len(est.Containers) != 1 || est.Skipped != 1 {
		t.Fatalf("%d containers, %d skipped; want the enabled one, and the plain one skipped\n%s", len(est.Containers), est.Skipped, r.stdout)
	}
	c := est.Containers[0]
	if c.Name() != ns+"/"+id || c.Key != ns+"/"+id || c.Store != n.arch.Store || c.Pid <= 0 {
		t.Fatalf("container %+v", c)
	}
	if c.MemoryBytes == nil || *c.MemoryBytes <= touched {
		t.Fatalf("memory %v (%s%s); want more than the %d bytes it touched", c.MemoryBytes, c.MemorySource, c.MemoryError, touched)
	}
	if c.LayerBytes == nil || *c.LayerBytes < int64(len("64\n")) || c.LayerDir == "" {
		t.Fatalf("writable layer %v in %q (%s%s); want at least /tmp/ready", c.LayerBytes, c.LayerDir, c.LayerNote, c.LayerError)
	}
	if len(est.Stores) != 1 || est.Stores[0].Path != n.arch.Store || est.Stores[0].BytesPerSecond <= 0 || est.Stores[0].ProbeBytes <= 0 {
		t.Fatalf("stores %+v", est.Stores)
	}
	if est.TotalBytes != *c.MemoryBytes+*c.LayerBytes || est.Estimated <= 0 {
		t.Fatalf("total %d bytes, estimated %vs", est.TotalBytes, est.Estimated)
	}

	for _, cn := range []counter{{ns: ns, id: id}, plain} {
		if st, err := n.TaskStatus(ns, cn.id); err != nil || st != testbed.StatusRunning {
			t.Fatalf("%s after the dry run: status %q, %v", cn.id, st, err)
		}
	}
	waitLogAbove(t, n.TaskLog(ns, id), lastCount(t, n.TaskLog(ns, id))+3)
	if m := manifest(t, n.arch.Store, ns+"/"+id); m != nil {
		t.Fatalf("the dry run left an image: %v", m)
	}
	ents, err := os.ReadDir(n.arch.Store)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("the store holds %s after the dry run (a probe file starts with %s)", e.Name(), drain.ProbeFilePrefix)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
