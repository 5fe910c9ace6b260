package testbed

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// StopTimeout bounds the wait for containerd to exit after SIGTERM.
const StopTimeout = 10 * time.Second

// stop ends everything the instance started: tasks and containers of every
// namespace, the daemon, leftover runc containers and shims, mounts,
// cgroups, and finally the folder. On test failure it first logs the tail
// of the daemon's log and of any CRIU log.
func (in *Instance) stop() {
	t := in.t
	if t.Failed() {
		in.dumpLog(t)
		dumpCRIULogs(t, in.Dir)
	}
	if in.alive() {
		in.removeAllContainers()
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
		case <-time.After(StopTimeout):
			t.Logf("testbed: containerd %s ignored SIGTERM for %v: killing it", in.Name, StopTimeout)
			_ = in.cmd.Process.Kill()
			<-in.exited
		}
	}
	in.deleteRuncLeftovers()
	killShims(in.Address)
	unmountUnder(in.Dir)
	removeCgroups(in.Cgroup)
	if err := os.RemoveAll(in.Dir); err != nil {
		t.Logf("testbed: removing %s: %v", in.Dir, err)
	}
}

func (in *Instance) alive() bool {
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// removeAllContainers kills and deletes every task and container.
func (in *Instance) removeAllContainers() {
	out, err := in.CtrOut("default", "namespace", "ls", "-q")
	if err != nil {
		in.t.Logf("testbed: listing namespaces: %v", err)
		return
	}
	for _, ns := range strings.Fields(out) {
		ids, err := in.CtrOut(ns, "container", "ls", "-q")
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(ids) {
			if err := in.Cleanup(ns, id); err != nil {
				in.t.Logf("testbed: cleaning %s/%s: %v", ns, id, err)
			}
		}
	}
}

// deleteRuncLeftovers force-deletes containers still known to the
// instance's runc root (a task whose shim died, a failed restore...).
func (in *Instance) deleteRuncLeftovers() {
	runc, err := LookPath("runc")
	if err != nil {
		return
	}
	nss, _ := os.ReadDir(in.RuncRoot)
	for _, ns := range nss {
		root := filepath.Join(in.RuncRoot, ns.Name())
		ids, _ := os.ReadDir(root)
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_ = exec.CommandContext(ctx, runc, "--root", root, "delete", "--force", id.Name()).Run()
			cancel()
		}
	}
}

// killShims kills the shims serving this instance (their command line
// names its unique socket), found by pid.
func killShims(address string) {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for _, a := range args {
			if a == address {
				if proc, err := os.FindProcess(atoi(p.Name())); err == nil {
					_ = proc.Kill()
				}
				break
			}
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, mp := range points {
		_ = syscall.Unmount(mp, syscall.MNT_DETACH)
	}
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroups removes the (now empty) cgroup folders under parent in
// every hierarchy: cgroup v1 controllers and the unified v2 tree.
func removeCgroups(parent string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, root := range roots {
		top := filepath.Join(root, parent)
		if st, err := os.Stat(top); err != nil || !st.IsDir() {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- { // children first
			_ = syscall.Rmdir(dirs[i])
		}
	}
}
