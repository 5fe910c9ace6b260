package drain

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// Memory is the part of a container's memory that a checkpoint dumps, as
// its cgroup accounts it.
type Memory struct {
	Bytes  int64
	Source string // which counters of which cgroup file, for people
}

// ContainerMemory reads the memory of the container whose init process is
// pid (host PID namespace) from its memory cgroup.
//
// What is counted: the pages CRIU writes are the processes' anonymous
// memory (heap, stacks, private file mappings once written), shared
// anonymous memory and tmpfs files (SysV and MAP_SHARED|MAP_ANONYMOUS
// segments, the container's /dev/shm and other tmpfs mounts, all of them
// shmem to the kernel), and anonymous pages swapped out. So the estimate is
// anon + shmem + swap: memory.stat's anon and shmem and memory.swap.current
// on cgroup v2, memory.stat's total_rss, total_shmem and total_swap on v1
// (the total_ counters include child cgroups, as v2's always do). Not
// memory.current (v1: usage_in_bytes): it also holds the page cache of
// files the container read, and kernel memory (slab, sockets, page
// tables), none of which CRIU dumps; a container that read a large file
// would look many times bigger than its image.
//
// Which cgroup: the one /proc/<pid>/cgroup names, not the spec's
// cgroupsPath. The kernel's answer needs no knowledge of the cgroup driver
// (cgroupfs paths, or the systemd driver's "slice:prefix:name", which must
// be translated into a path) nor of the runtime that made it, and it is
// where the process is now. The cgroup hierarchy is found in
// /proc/self/mountinfo rather than assumed at /sys/fs/cgroup.
func ContainerMemory(pid int) (Memory, error) {
	if pid <= 0 {
		return Memory{}, errors.New("no process id for the task")
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return Memory{}, fmt.Errorf("read the mount table: %w", err)
	}
	return cgroupMemory("/proc", pid, mounts)
}

// cgroupMemory is ContainerMemory with the proc folder and the cgroup
// mounts given.
func cgroupMemory(proc string, pid int, mounts []*mountinfo.Info) (Memory, error) {
	f, err := os.Open(path.Join(proc, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return Memory{}, fmt.Errorf("find the container's cgroup: %w", err)
	}
	defer f.Close()
	cg, err := parseProcCgroup(f)
	if err != nil {
		return Memory{}, fmt.Errorf("find the container's cgroup in %s: %w", f.Name(), err)
	}
	dir, err := cg.folder(mounts)
	if err != nil {
		return Memory{}, err
	}
	stat, err := os.Open(path.Join(dir, "memory.stat"))
	if err != nil {
		return Memory{}, fmt.Errorf("read the container's memory: %w", err)
	}
	defer stat.Close()
	var swap io.Reader
	if cg.v2 {
		// Absent without swap accounting (or swap): no swapped pages then.
		if sw, err := os.Open(path.Join(dir, "memory.swap.current")); err == nil {
			defer sw.Close()
			swap = sw
		}
	}
	m, err := parseMemoryStat(stat, cg.v2, swap)
	if err != nil {
		return Memory{}, fmt.Errorf("%s: %w", stat.Name(), err)
	}
	m.Source += " of " + dir
	return m, nil
}

// procCgroup is the memory cgroup of a process: a path in the cgroup v1
// hierarchy that has the memory controller, or in the v2 hierarchy.
type procCgroup struct {
	path string
	v2   bool
}

// parseProcCgroup reads /proc/<pid>/cgroup ("hierarchy:controllers:path"
// lines). The memory controller is in a v1 hierarchy when one lists it
// (also on hybrid systems, which have a v2 line too), else in v2 ("0::").
func parseProcCgroup(r io.Reader) (procCgroup, error) {
	var v2 *procCgroup
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = &procCgroup{path: parts[2], v2: true}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return procCgroup{path: parts[2]}, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return procCgroup{}, err
	}
	if v2 == nil {
		return procCgroup{}, errors.New("no memory cgroup (neither a v1 memory hierarchy nor v2)")
	}
	return *v2, nil
}

// folder is the cgroup's folder below the mount of its hierarchy. A path
// outside what that mount shows (a cgroup namespace: the kernel then
// writes "/.." components) is refused rather than guessed.
func (c procCgroup) folder(mounts []*mountinfo.Info) (string, error) {
	if !strings.HasPrefix(c.path, "/") || slices.Contains(strings.Split(c.path, "/"), "..") {
		return "", fmt.Errorf("cgroup path %q lies outside this process's cgroup namespace", c.path)
	}
	for _, m := range mounts {
		switch {
		case c.v2 && m.FSType == "cgroup2":
		case !c.v2 && m.FSType == "cgroup" && slices.Contains(strings.Split(m.VFSOptions, ","), "memory"):
		default:
			continue
		}
		rel := c.path
		if m.Root != "/" {
			r, ok := strings.CutPrefix(c.path, m.Root)
			if !ok || (r != "" && !strings.HasPrefix(r, "/")) {
				continue // this mount shows another part of the hierarchy
			}
			rel = r
		}
		return path.Join(m.Mountpoint, rel), nil
	}
	v := "v1 memory"
	if c.v2 {
		v = "v2"
	}
	return "", fmt.Errorf("cgroup %s: no mount of the cgroup %s hierarchy shows it", c.path, v)
}

// parseMemoryStat adds up what a checkpoint dumps from a memory.stat file:
// v2's anon + shmem, plus the bytes of memory.swap.current when swap is
// not nil; v1's total_rss + total_shmem + total_swap (rss, shmem and swap
// when the total_ lines are missing). The anonymous counter must be there;
// the others count as 0 when absent (no swap accounting, old kernels).
func parseMemoryStat(r io.Reader, v2 bool, swap io.Reader) (Memory, error) {
	vals := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("memory.stat line %q: %w", sc.Text(), err)
		}
		vals[k] = n
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("read memory.stat: %w", err)
	}
	var names []string
	if v2 {
		names = []string{"anon", "shmem"}
	} else {
		names = []string{"total_rss", "total_shmem", "total_swap"}
		if _, ok := vals["total_rss"]; !ok {
			names = []string{"rss", "shmem", "swap"}
		}
	}
	if _, ok := vals[names[0]]; !ok {
		return Memory{}, fmt.Errorf("memory.stat has no %s line", names[0])
	}
	m := Memory{}
	var used []string
	for _, n := range names {
		if v, ok := vals[n]; ok {
			m.Bytes += v
			used = append(used, n)
		}
	}
	if swap != nil {
		b, err := io.ReadAll(io.LimitReader(swap, 64))
		if err != nil {
			return Memory{}, fmt.Errorf("read memory.swap.current: %w", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("memory.swap.current %q: %w", b, err)
		}
		m.Bytes += n
		used = append(used, "memory.swap.current")
	}
	version := "v1"
	if v2 {
		version = "v2"
	}
	m.Source = "cgroup " + version + " " + strings.Join(used, "+")
	return m, nil
}
