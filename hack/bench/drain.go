package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/arch-ckpt/arch/internal/testbed"
	"github.com/arch-ckpt/arch/pkg/drain"
	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// drainBench measures `arch-hook checkpoint-all` on a private containerd:
// -containers enabled memtouch containers of -mib MiB each, checkpointed
// once with --parallel 1 and once with the default parallelism (fresh
// containers each time), against the store's sequential write bandwidth
// (with fsync) measured in the same run and the 120 s of a spot notice.
// -sequential=false runs only the parallel round, against a 60 s budget
// (the many-small-containers row); -restore then starts every
// checkpointed container again, as a user does after a drain, and times
// the restores against the containers' first start (drain_restore.go).
func drainBench(args []string) error {
	fs := flag.NewFlagSet("drain", flag.ExitOnError)
	e := commonFlags(fs)
	prof := profileFlags(fs)
	n := fs.Int("containers", 20, "enabled containers")
	mib := fs.Int("mib", 64, "touched memory of each")
	parallel := fs.Int("parallel", 0, "--parallel of the parallel run (0: arch-hook's default)")
	sequential := fs.Bool("sequential", true, "also run checkpoint-all --parallel 1 (the speed-up's baseline)")
	restore := fs.Bool("restore", false, "after the parallel round, start every checkpointed container again and time the restores")
	width := fs.Int("start-parallel", 8, "ctr calls at once when starting, restoring and removing containers")
	fs.Parse(args)
	work, cleanup, err := workDir(e.work)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := prof.setUp(e, work); err != nil {
		return err
	}
	d := &drainRig{env: e, work: work, n: *n, mib: *mib, width: *width, profEnv: prof.environ()}
	if err := d.setUp(); err != nil {
		return err
	}
	defer d.tearDown()
	bw, err := writeBandwidth(filepath.Join(work, "store"), min(int64(*n)*int64(*mib), 1024)<<20)
	if err != nil {
		return err
	}
	var seq drainRound
	if *sequential {
		if seq, err = d.round("seq", 1); err != nil {
			return err
		}
		d.clear()
	}
	par, err := d.round("par", *parallel)
	if err != nil {
		return err
	}
	var rs restoreRound
	if *restore {
		if rs, err = d.restoreAll(par); err != nil {
			return err
		}
	}
	d.clear()
	header()
	if *sequential {
		what := fmt.Sprintf("checkpoint-all %d x %d MiB: --parallel %d vs 1 (wall)", *n, *mib, par.rep.Parallel)
		row(what, par.wall, seq.wall, "<= 0.56 (1.8x)")
	} else {
		what := fmt.Sprintf("checkpoint-all %d x %d MiB, --parallel %d, vs 60 s", *n, *mib, par.rep.Parallel)
		row(what, par.wall, drainBudget, fmt.Sprintf("<= 60 s, all %d", *n))
	}
	if *restore {
		row(fmt.Sprintf("  restore of the %d vs their first start (%d at once)", rs.tried, *width), rs.wall, par.start, "")
	}
	c := par.rep.Counts
	fmt.Printf("checkpoint-all: %d of %d checkpointed, %d failed, %d not started, %d skipped in %s: %s\n",
		c.Checkpointed, *n, c.Failed, c.NotStarted, c.Skipped, round(par.wall),
		verdict(c.Checkpointed == *n && par.wall <= drainBudget))
	if *restore {
		fmt.Printf("restore: %d of %d restored, %d started fresh, %d failed in %s\n", rs.restored, rs.tried, rs.fresh, rs.failed, round(rs.wall))
	}
	fmt.Println(d.perContainer(par))
	if *sequential {
		speedup := float64(seq.wall) / float64(par.wall)
		fmt.Printf("speed-up: %.2fx with %d in parallel on %d CPUs (CPUs busy: %.0f%% sequential, %.0f%% parallel)\n",
			speedup, par.rep.Parallel, runtime.NumCPU(), 100*seq.busy, 100*par.busy)
	} else {
		fmt.Printf("CPUs busy: %.0f%% of %d during checkpoint-all\n", 100*par.busy, runtime.NumCPU())
	}
	rate := float64(par.bytes) / par.wall.Seconds()
	fmt.Printf("store sequential write with fsync: %.0f MiB/s; parallel run: %.0f MiB of archives in %s = %.0f MiB/s = %.0f%% of it (within 80%%: %v)\n",
		bw/(1<<20), float64(par.bytes)/(1<<20), round(par.wall), rate/(1<<20), 100*rate/bw, rate >= 0.8*bw)
	fmt.Printf("parallel total %s against a spot notice's 120 s: %s\n", round(par.wall), verdict(par.wall < 120*time.Second))
	prof.report(os.Stdout)
	return nil
}

// perContainer says where one container's checkpoint went, as medians:
// checkpoint-all's time for it (containerd's pause and checkpoint calls,
// the shim, arch-wrapper) against arch-wrapper's own phases (its log).
func (d *drainRig) perContainer(r drainRound) string {
	var each []time.Duration
	for _, res := range r.rep.Results {
		if res.State == drain.Checkpointed {
			each = append(each, res.Duration())
		}
	}
	names, med, lines := phaseMedians(filepath.Join(d.work, "arch.log"), "checkpoint committed, container stopped", r.ids)
	s := fmt.Sprintf("per container (median of %d): checkpoint-all's round trip %s, arch-wrapper's checkpoint (of %d logged):", len(each), round(median(each)), lines)
	for _, n := range names {
		s += fmt.Sprintf(" %s %s", n, round(med[n]))
	}
	return s
}

// drainBudget is the many-small-containers target: a drain well inside a
// spot notice's 120 s, leaving the rest to the node's own shutdown.
const drainBudget = 60 * time.Second

// drainRig is the private containerd, ARCH configuration and image.
type drainRig struct {
	env     *env
	work    string
	n, mib  int
	width   int // ctr calls at once
	profEnv []string
	conf    string
	sock    string
	daemon  *exec.Cmd
	imgRef  string
	runcDir string
}

type drainRound struct {
	ids   []string
	start time.Duration // the containers' start (ctr run until memory touched)
	wall  time.Duration
	bytes int64
	busy  float64 // share of all CPUs busy during the run
	rep   drain.Report
}

const benchNS = "bench"

func (d *drainRig) setUp() error {
	d.conf = filepath.Join(d.work, "arch.conf")
	d.runcDir = filepath.Join(d.work, "ctrd", "runc")
	conf := fmt.Sprintf("runc = %s\nlog_file = %s/arch.log\nstate_dir = %s/state\nstore = %s/store\nstaging_dir = %s/staging\nhook = %s\n",
		d.env.runc, d.work, d.work, d.work, d.work, absPath(d.env.hook))
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := d.startContainerd(); err != nil {
		return err
	}
	tar, err := d.memtouchImage()
	if err != nil {
		return err
	}
	return d.ctr("image", "import", tar)
}

// startContainerd runs a private containerd (as hack/lib/containerd.sh does).
func (d *drainRig) startContainerd() error {
	dir := filepath.Join(d.work, "ctrd")
	for _, s := range []string{"root", "state", "runc"} {
		if err := os.MkdirAll(filepath.Join(dir, s), 0o711); err != nil {
			return err
		}
	}
	d.sock = filepath.Join(dir, "state", "containerd.sock")
	toml := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.opt\", \"io.containerd.internal.v1.tracing\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), d.sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(toml), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	d.daemon = exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	// The shims, and the arch-wrapper calls they make, inherit this.
	d.daemon.Env = append([]string{"PATH=" + testbed.DaemonPath, "ARCH_CONFIG=" + d.conf, "ARCH_RUNC=" + d.env.runc}, d.profEnv...)
	d.daemon.Stdout, d.daemon.Stderr = logf, logf
	d.daemon.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.daemon.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	for range 100 {
		if d.ctr("version") == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("containerd did not start; see %s", logf.Name())
}

func (d *drainRig) tearDown() {
	if d.daemon == nil {
		return
	}
	d.removeAll()
	d.daemon.Process.Signal(syscall.SIGTERM)
	d.daemon.Wait()
	out, _ := os.ReadFile("/proc/self/mounts")
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], d.work+"/") {
			syscall.Unmount(f[1], syscall.MNT_DETACH)
		}
	}
}

// memtouchImage writes an OCI layout tar with static busybox and memtouch.
func (d *drainRig) memtouchImage() (string, error) {
	lower, err := image(d.work) // compiles memtouch into the bench's lower layer
	if err != nil {
		return "", err
	}
	bin, err := os.ReadFile(filepath.Join(lower, "memtouch"))
	if err != nil {
		return "", err
	}
	files, err := testbed.BusyboxFilesFrom("/bin/busybox")
	if err != nil {
		return "", err
	}
	files["/memtouch"] = testbed.File{Content: bin, Mode: 0o755}
	d.imgRef = "docker.io/arch-bench/memtouch:latest"
	tar := filepath.Join(d.work, "memtouch.tar")
	f, err := os.Create(tar)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cfg := testbed.ImageConfig{Entrypoint: []string{"/memtouch"}, Env: []string{"PATH=/bin"}, WorkingDir: "/"}
	return tar, testbed.WriteOCILayout(f, d.imgRef, files, cfg)
}

func (d *drainRig) ctr(args ...string) error {
	_, err := d.ctrOut(args...)
	return err
}

// ctrOut runs ctr and returns its output.
func (d *drainRig) ctrOut(args ...string) (string, error) {
	out, err := exec.Command("ctr", append([]string{"-a", d.sock, "-n", benchNS}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// round starts fresh containers and runs checkpoint-all once; clear
// removes them.
func (d *drainRig) round(name string, parallel int) (drainRound, error) {
	var r drainRound
	r.ids = make([]string, d.n)
	for i := range r.ids {
		r.ids[i] = fmt.Sprintf("%s-%03d", name, i)
	}
	t0 := time.Now()
	if n, err := failures(forEach(r.ids, d.width, d.run)); err != nil {
		return r, fmt.Errorf("round %s: %d of %d containers did not start: %w", name, n, d.n, err)
	}
	r.start = time.Since(t0)
	fmt.Fprintf(os.Stderr, "bench: round %s: %d containers started in %s\n", name, d.n, round(r.start))
	args := []string{"checkpoint-all", "--json", "--address", d.sock, "--config", d.conf, "--namespace", benchNS}
	if parallel > 0 {
		args = append(args, "--parallel", fmt.Sprint(parallel))
	}
	cmd := exec.Command(d.env.hook, args...)
	cmd.Env = append(os.Environ(), d.profEnv...)
	cmd.Stderr = os.Stderr
	busy0, total0 := cpuTimes()
	t0 = time.Now()
	out, err := cmd.Output()
	r.wall = time.Since(t0)
	busy1, total1 := cpuTimes()
	r.busy = float64(busy1-busy0) / float64(max(total1-total0, 1))
	// Exit status 1 with a report: some failed or were not started, which
	// the report counts.
	if jerr := json.Unmarshal(out, &r.rep); jerr != nil {
		if err != nil {
			return r, fmt.Errorf("arch-hook %s: %w", strings.Join(args, " "), err)
		}
		return r, fmt.Errorf("checkpoint-all output: %w", jerr)
	}
	if r.rep.Counts.Checkpointed != d.n {
		fmt.Fprintf(os.Stderr, "bench: round %s: %d of %d containers checkpointed: %+v\n", name, r.rep.Counts.Checkpointed, d.n, r.rep.Counts)
		for _, res := range r.rep.Results {
			if res.State != drain.Checkpointed {
				fmt.Fprintf(os.Stderr, "bench:   %s: %s: %s\n", res.Name(), res.State, res.Reason)
			}
		}
	}
	for _, res := range r.rep.Results {
		r.bytes += res.Size
	}
	return r, nil
}

// run starts enabled container id through arch-wrapper and waits until
// its memory is touched; a container of that id with a checkpoint in the
// store is restored instead (its create turned into a restore).
func (d *drainRig) run(id string) error {
	err := d.ctr("run", "-d", "--runc-binary", absPath(d.env.wrapper), "--runc-root", d.runcDir,
		"--cgroup", "/arch-bench-drain/"+id, "--env", "ARCH_ENABLE=1",
		"--log-uri", "file://"+filepath.Join(d.work, id+".log"), d.imgRef, id, "/memtouch", fmt.Sprint(d.mib))
	if err != nil {
		return err
	}
	return waitFile(filepath.Join(d.work, "ctrd", "state", "io.containerd.runtime.v2.task", benchNS, id, "rootfs", "tmp", "ready"))
}

// clear removes the round's containers and the store (fresh store, same
// disk usage each round).
func (d *drainRig) clear() {
	d.removeAll()
	os.RemoveAll(filepath.Join(d.work, "store"))
}

// removeAll deletes every task and container of the bench namespace.
func (d *drainRig) removeAll() {
	out, _ := d.ctrOut("c", "ls", "-q")
	forEach(strings.Fields(out), d.width, d.remove)
	if out, _ := d.ctrOut("c", "ls", "-q"); len(strings.Fields(out)) > 0 {
		fmt.Fprintf(os.Stderr, "bench: containers left after removal: %s\n", strings.Join(strings.Fields(out), " "))
	}
}

// remove deletes container id whatever its task's state.
func (d *drainRig) remove(id string) error {
	d.ctr("task", "kill", "-s", "KILL", id)
	d.ctr("task", "rm", "-f", id)
	return d.ctr("c", "rm", id)
}

func waitFile(p string) error {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s never appeared", p)
}

// writeBandwidth is the fsynced write bandwidth of dir for size bytes of
// random data, in bytes per second, measured as checkpoint-all --dry-run
// measures a store (drain.Probe), without its short bounds.
func writeBandwidth(dir string, size int64) (float64, error) {
	d, err := saferoot.Trusted(dir).MkdirAll(0o700)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	bw, err := drain.Probe(context.Background(), d, drain.ProbeOptions{Bytes: size, WriteTime: time.Minute, Timeout: 2 * time.Minute})
	if err != nil {
		return 0, err
	}
	return bw.PerSecond(), nil
}

// cpuTimes returns the busy and total jiffies of all CPUs (/proc/stat).
func cpuTimes() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0]) // "cpu user nice system idle iowait ..."
	for i, v := range f[1:] {
		var n int64
		fmt.Sscan(v, &n)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

func verdict(ok bool) string {
	if ok {
		return "fits"
	}
	return "DOES NOT FIT"
}
