package drain

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleEstimate has a container of each kind (measured; no overlay; its
// memory unknown) in two stores, one of them not measured.
func sampleEstimate(deadline time.Duration) *Estimate {
	cs := []ContainerUsage{
		{Namespace: "batch", ID: "job", Key: "jobs/1", Store: "/var/lib/arch/checkpoints", Pid: 4242,
			MemoryBytes: bytesOf(256 * mib), MemorySource: "cgroup v1 total_rss+total_shmem+total_swap of /sys/fs/cgroup/memory/batch/job",
			LayerBytes: bytesOf(12 * mib), LayerFiles: 310, LayerDir: "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/13/fs"},
		{Namespace: "e2e", ID: "plainfs", Key: "e2e/plainfs", Store: "/var/lib/arch/checkpoints", Pid: 4300,
			MemoryBytes: bytesOf(10 * mib), MemorySource: "cgroup v2 anon+shmem",
			LayerBytes: bytesOf(0), LayerNote: "rootfs is not an overlay mount: the container's root is ext4: ARCH captures no files"},
		{Namespace: "e2e", ID: "shared", Key: "jobs/2", Store: "/mnt/efs/ckpt", Pid: 4400,
			MemoryError: "find the container's cgroup: open /proc/4400/cgroup: no such file or directory",
			LayerBytes:  bytesOf(1 * mib), LayerFiles: 3},
	}
	free := int64(80 << 30)
	stores := []StoreProbe{
		{Path: "/var/lib/arch/checkpoints", FreeBytes: &free, ProbeBytes: 64 * mib, ProbeSeconds: seconds(181 * time.Millisecond), BytesPerSecond: 64 * mib / 0.181},
		{Path: "/mnt/efs/ckpt", Error: "probe write to /mnt/efs/ckpt: not done within 20s (a hung or very slow store)"},
	}
	e := Compute(cs, stores, 2, 4, 2, deadline)
	e.Started = t0
	return e
}

// measuredEstimate is sampleEstimate with everything measured.
func measuredEstimate(deadline time.Duration) *Estimate {
	e := sampleEstimate(deadline)
	e.Containers[2].MemoryBytes, e.Containers[2].MemoryError = bytesOf(20*mib), ""
	e.Stores[1].BytesPerSecond, e.Stores[1].ProbeBytes, e.Stores[1].ProbeSeconds, e.Stores[1].Error = 20*mib, 64*mib, 3.2, ""
	return Compute(e.Containers, e.Stores, e.Skipped, e.Parallel, 2, deadline)
}

func TestEstimateTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteEstimate(&buf, sampleEstimate(110*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		`^CONTAINER +KEY +MEMORY +LAYER +STORE$`,
		`^batch/job +jobs/1 +256\.0 MiB +12\.0 MiB +/var/lib/arch/checkpoints$`,
		`^e2e/plainfs +e2e/plainfs +10\.0 MiB +none \(no overlay\) +/var/lib/arch/checkpoints$`,
		`^e2e/shared +jobs/2 +unknown +1\.0 MiB +/mnt/efs/ckpt$`,
		`^$`,
		`^STORE +CONTAINERS +BYTES +WRITE BANDWIDTH$`,
		`^/var/lib/arch/checkpoints +2 +278\.0 MiB +353\.6 MiB/s \(64\.0 MiB fsynced in 181ms\)$`,
		`^/mnt/efs/ckpt +1 +1\.0 MiB +unknown$`,
		`^$`,
		`^dry run: 3 to checkpoint, 2 skipped; 279\.0 MiB to write$`,
		`^estimate: 786ms to write at the measured bandwidth \+ 2 rounds x 260ms per checkpoint \(2 at once: --parallel 4, at most 1 per CPU\) = 1\.31s; deadline 1m50s$`,
		`^unknown: memory of e2e/shared: find the container's cgroup: open /proc/4400/cgroup: no such file or directory$`,
		`^unknown: write bandwidth of store /mnt/efs/ckpt: probe write to /mnt/efs/ckpt: not done within 20s \(a hung or very slow store\)$`,
		`^cannot tell: what could be measured takes about 1\.31s of the 1m50s deadline, but 2 figures are unknown \(above\)$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines; want %d", len(lines), len(want))
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d: %q does not match %s", i, lines[i], re)
		}
	}
	// Columns line up.
	col := strings.Index(lines[0], "STORE")
	for _, l := range lines[1:4] {
		if l[col] != '/' {
			t.Errorf("STORE column misaligned in %q", l)
		}
	}
}

func TestEstimateVerdictLines(t *testing.T) {
	for _, tc := range []struct {
		e    *Estimate
		want string // the last line
	}{
		// 278 MiB at 353.6 MiB/s + 21 MiB at 20 MiB/s + 2 rounds x 260 ms = 2.36 s
		{measuredEstimate(110 * time.Second), "fits: about 2.36s of the 1m50s deadline, 1m48s to spare"},
		{measuredEstimate(time.Second), "WARNING: does not fit: the drain needs about 2.36s, 1.36s more than the 1s deadline; the containers left when it passes would not be checkpointed"},
		{sampleEstimate(time.Second), "WARNING: does not fit: the drain needs at least about 1.31s, 306ms more than the 1s deadline; the containers left when it passes would not be checkpointed"},
	} {
		var buf strings.Builder
		if err := WriteEstimate(&buf, tc.e); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if got := lines[len(lines)-1]; got != tc.want {
			t.Errorf("verdict %s: last line\n%q; want\n%q", tc.e.Verdict, got, tc.want)
		}
		if n := strings.Count(buf.String(), "WARNING"); (tc.e.Verdict == DoesNotFit) != (n == 1) {
			t.Errorf("verdict %s: %d WARNING lines:\n%s", tc.e.Verdict, n, buf.String())
		}
	}
}

func TestEstimateTableWithNothingToCheckpoint(t *testing.T) {
	var buf strings.Builder
	if err := WriteEstimate(&buf, Compute(nil, nil, 5, 4, 2, 110*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := "dry run: 0 to checkpoint, 5 skipped; 0 B to write\n" +
		"estimate: 0s to write at the measured bandwidth + 0 rounds x 260ms per checkpoint (1 at once: --parallel 4, at most 1 per CPU) = 0s; deadline 1m50s\n" +
		"fits: about 0s of the 1m50s deadline, 1m50s to spare\n"
	if buf.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestEstimateJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteEstimateJSON(&buf, sampleEstimate(110*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
	var got struct {
		Started          time.Time
		DeadlineSeconds  float64
		Parallel, Lanes  int
		Skipped          int
		TotalBytes       int64
		EstimatedSeconds float64
		Verdict          Verdict
		Unknown          []string
		Containers       []map[string]any
		Stores           []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !got.Started.Equal(t0) || got.DeadlineSeconds != 110 || got.Parallel != 4 || got.Lanes != 2 || got.Skipped != 2 ||
		got.TotalBytes != 279*mib || got.Verdict != CannotTell || len(got.Unknown) != 2 {
		t.Fatalf("estimate %+v", got)
	}
	if got.EstimatedSeconds < 1.30 || got.EstimatedSeconds > 1.32 { // 786 ms + 2 rounds x 260 ms
		t.Fatalf("estimatedSeconds %v", got.EstimatedSeconds)
	}
	job, shared := got.Containers[0], got.Containers[2]
	if job["memoryBytes"] != float64(256*mib) || job["layerBytes"] != float64(12*mib) || job["pid"] != float64(4242) {
		t.Fatalf("measured container %v", job)
	}
	// Unknown is null, not 0: a script must not add it up as nothing.
	if v, has := shared["memoryBytes"]; !has || v != nil || shared["memoryError"] == "" {
		t.Fatalf("container with unknown memory %v", shared)
	}
	if s := got.Stores[0]; s["bytesPerSecond"].(float64) < 350*mib || s["freeBytes"] != float64(80<<30) || s["bytes"] != float64(278*mib) {
		t.Fatalf("store %v", s)
	}
	if s := got.Stores[1]; s["bytesPerSecond"] != float64(0) || s["error"] == "" {
		t.Fatalf("unmeasured store %v", s)
	}
}
