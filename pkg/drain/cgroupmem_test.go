package drain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func openTestdata(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseMemoryStatV1(t *testing.T) {
	m, err := parseMemoryStat(openTestdata(t, "cgroup/memory.stat.v1"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	// total_rss + total_shmem + total_swap: the page cache (total_cache)
	// and the cgroup's own rss (without its children) are not counted.
	if want := int64(68423680 + 131072 + 4096); m.Bytes != want {
		t.Fatalf("%d bytes; want %d", m.Bytes, want)
	}
	if m.Source != "cgroup v1 total_rss+total_shmem+total_swap" {
		t.Fatalf("source %q", m.Source)
	}
}

func TestParseMemoryStatV1WithoutTotals(t *testing.T) {
	m, err := parseMemoryStat(strings.NewReader("cache 999\nrss 1000\nshmem 20\n"), false, nil)
	if err != nil || m.Bytes != 1020 || m.Source != "cgroup v1 rss+shmem" {
		t.Fatalf("%+v, %v; want rss+shmem = 1020", m, err)
	}
}

func TestParseMemoryStatV2(t *testing.T) {
	m, err := parseMemoryStat(openTestdata(t, "cgroup/memory.stat.v2"), true, strings.NewReader("8192\n"))
	if err != nil {
		t.Fatal(err)
	}
	// anon + shmem + memory.swap.current; not file, kernel, slab, sock.
	if want := int64(68157440 + 131072 + 8192); m.Bytes != want {
		t.Fatalf("%d bytes; want %d", m.Bytes, want)
	}
	if m.Source != "cgroup v2 anon+shmem+memory.swap.current" {
		t.Fatalf("source %q", m.Source)
	}
	// Without swap accounting there is no memory.swap.current.
	m, err = parseMemoryStat(openTestdata(t, "cgroup/memory.stat.v2"), true, nil)
	if err != nil || m.Bytes != 68157440+131072 {
		t.Fatalf("without swap: %+v, %v", m, err)
	}
}

func TestParseMemoryStatRefusesWhatItCannotRead(t *testing.T) {
	for name, tc := range map[string]struct {
		stat string
		v2   bool
	}{
		"v2 without anon":      {"file 10\nshmem 20\n", true},
		"v1 without rss":       {"cache 10\n", false},
		"a value not a number": {"anon 12x\n", true},
	} {
		if m, err := parseMemoryStat(strings.NewReader(tc.stat), tc.v2, nil); err == nil {
			t.Errorf("%s: %+v; want an error", name, m)
		}
	}
	if _, err := parseMemoryStat(strings.NewReader("anon 1\n"), true, strings.NewReader("max\n")); err == nil {
		t.Error("a memory.swap.current that is no number was taken")
	}
}

func TestParseProcCgroup(t *testing.T) {
	for name, tc := range map[string]struct {
		file string
		want procCgroup
	}{
		// The memory line wins over the v2 one of a hybrid system.
		"v1": {"cgroup/proc-cgroup.v1", procCgroup{path: "/e2e/job-1"}},
		"v2": {"cgroup/proc-cgroup.v2", procCgroup{path: "/system.slice/docker-0a1b2c3d4e5f.scope", v2: true}},
	} {
		got, err := parseProcCgroup(openTestdata(t, tc.file))
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, tc.want)
		}
	}
	if got, err := parseProcCgroup(strings.NewReader("3:cpu:/x\n2:pids:/x\n")); err == nil {
		t.Errorf("no memory controller: %+v; want an error", got)
	}
}

func TestCgroupFolder(t *testing.T) {
	mounts := []*mountinfo.Info{
		{Mountpoint: "/sys/fs/cgroup/cpu", Root: "/", FSType: "cgroup", VFSOptions: "rw,cpu"},
		{Mountpoint: "/sys/fs/cgroup/memory", Root: "/", FSType: "cgroup", VFSOptions: "rw,memory"},
		{Mountpoint: "/sys/fs/cgroup/unified", Root: "/", FSType: "cgroup2", VFSOptions: "rw"},
		// A mount that shows only part of the hierarchy (a container's).
		{Mountpoint: "/mnt/part", Root: "/kubepods", FSType: "cgroup2", VFSOptions: "rw"},
	}
	for _, tc := range []struct {
		cg   procCgroup
		want string // "" = an error
	}{
		{procCgroup{path: "/e2e/job-1"}, "/sys/fs/cgroup/memory/e2e/job-1"},
		{procCgroup{path: "/system.slice/x.scope", v2: true}, "/sys/fs/cgroup/unified/system.slice/x.scope"},
		{procCgroup{path: "/../../outside"}, ""},
		{procCgroup{path: "relative"}, ""},
	} {
		got, err := tc.cg.folder(mounts)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%+v: %s; want an error", tc.cg, got)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("%+v: %s, %v; want %s", tc.cg, got, err, tc.want)
		}
	}
	if got, err := (procCgroup{path: "/kubepods/pod1/c1", v2: true}).folder(mounts[3:]); err != nil || got != "/mnt/part/pod1/c1" {
		t.Errorf("below a mount's root: %s, %v", got, err)
	}
	if got, err := (procCgroup{path: "/kubepodsX/c1", v2: true}).folder(mounts[3:]); err == nil {
		t.Errorf("a sibling of a mount's root: %s; want an error", got)
	}
	if _, err := (procCgroup{path: "/x"}).folder(mounts[2:3]); err == nil {
		t.Error("v1 memory cgroup found without a v1 memory mount")
	}
}

// TestCgroupMemory reads a container's memory from a fake /proc and a
// fake cgroup v1 hierarchy, from its pid to memory.stat.
func TestCgroupMemory(t *testing.T) {
	dir := t.TempDir()
	proc, cgroot := filepath.Join(dir, "proc"), filepath.Join(dir, "cgroup")
	stat, err := os.ReadFile(filepath.Join("testdata", "cgroup", "memory.stat.v1"))
	if err != nil {
		t.Fatal(err)
	}
	procCg, err := os.ReadFile(filepath.Join("testdata", "cgroup", "proc-cgroup.v1"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(proc, "4242", "cgroup"), procCg)
	writeFile(t, filepath.Join(cgroot, "e2e", "job-1", "memory.stat"), stat)
	mounts := []*mountinfo.Info{{Mountpoint: cgroot, Root: "/", FSType: "cgroup", VFSOptions: "rw,memory"}}
	m, err := cgroupMemory(proc, 4242, mounts)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bytes != 68423680+131072+4096 || !strings.HasSuffix(m.Source, " of "+filepath.Join(cgroot, "e2e", "job-1")) {
		t.Fatalf("%+v", m)
	}
	if _, err := cgroupMemory(proc, 4243, mounts); err == nil {
		t.Fatal("a process that is gone has a memory")
	}
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
