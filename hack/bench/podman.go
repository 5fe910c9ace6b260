package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// podmanSideBySide puts ARCH's checkpoint and restore next to Podman's
// own, for the same memtouch workload (-mib MiB of random memory), with
// and without zstd, measured in the same run and interleaved round by
// round: ARCH as bench ckpt measures it (through arch-wrapper, paused
// first as containerd does, the image committed to the store; the restore
// from create to running), Podman as `podman container checkpoint
// --export --compress C` (which freezes the container itself) and
// `podman container restore --import` of that archive as a new container
// (returns once it runs). Without podman in PATH it says so and succeeds.
func podmanSideBySide(args []string) error {
	fs := flag.NewFlagSet("podman", flag.ExitOnError)
	e := commonFlags(fs)
	mib := fs.Int("mib", 256, "touched memory of the workload")
	runs := fs.Int("runs", 5, "rounds")
	podmanBin := fs.String("podman", "podman", "the podman binary")
	fs.Parse(args)
	podman, err := exec.LookPath(*podmanBin)
	if err != nil {
		fmt.Println("podman: not installed, row skipped")
		return nil
	}
	work, lower, cleanup, err := workImage(e.work)
	if err != nil {
		return err
	}
	defer cleanup()
	ref, err := podmanImage(podman, work, lower)
	if err != nil {
		return err
	}
	defer runQuiet(podman, "rmi", "-f", ref)
	workload := []string{"/memtouch", fmt.Sprint(*mib), "random"}

	type results struct {
		archCk, archRs, podCk, podRs []time.Duration
		podSize, archSize            int64
	}
	compressions := []string{"none", "zstd"}
	res := map[string]*results{}
	benches := map[string]*bench{}
	for _, c := range compressions {
		dir := filepath.Join(work, c) // ARCH's configuration, state and store for c
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		benches[c], res[c] = newBench(e, dir, lower, c, workload), &results{}
	}
	for i := range *runs {
		for _, c := range compressions {
			r, err := benches[c].round(i)
			if err != nil {
				return err
			}
			p, err := podmanRound(podman, ref, workload, c, work, i)
			if err != nil {
				return err
			}
			x := res[c]
			x.archCk, x.archRs, x.archSize = append(x.archCk, r.archCkpt), append(x.archRs, r.archRestore), r.size
			x.podCk, x.podRs, x.podSize = append(x.podCk, p.ckpt), append(x.podRs, p.restore), p.size
			fmt.Fprintf(os.Stderr, "bench: round %d, %s: ARCH checkpoint %s restore %s; podman checkpoint %s restore %s\n",
				i, c, round(r.archCkpt), round(r.archRestore), round(p.ckpt), round(p.restore))
		}
	}
	version, _ := exec.Command(podman, "--version").Output()
	header()
	for _, c := range compressions {
		x := res[c]
		row(fmt.Sprintf("checkpoint %d MiB random, %s: ARCH vs podman --export", *mib, c), median(x.archCk), median(x.podCk), "")
		row(fmt.Sprintf("restore %d MiB random, %s: ARCH vs podman --import", *mib, c), median(x.archRs), median(x.podRs), "")
	}
	fmt.Printf("%s: archives %s; ARCH's: %s\n", strings.TrimSpace(string(version)),
		sizes(compressions, func(c string) int64 { return res[c].podSize }),
		sizes(compressions, func(c string) int64 { return res[c].archSize }))
	return nil
}

// podmanImage imports the bench's lower layer as a Podman image.
func podmanImage(podman, work, lower string) (string, error) {
	tar := filepath.Join(work, "lower.tar")
	if err := runQuiet("tar", "-C", lower, "-cf", tar, "."); err != nil {
		return "", err
	}
	defer os.Remove(tar)
	ref := fmt.Sprintf("localhost/arch-bench/memtouch:%d", os.Getpid())
	if err := runQuiet(podman, "import", "--quiet", tar, ref); err != nil {
		return "", err
	}
	return ref, nil
}

type podmanResult struct {
	ckpt, restore time.Duration
	size          int64
}

// podmanRound runs the workload in a new Podman container, waits until its
// memory is touched, checkpoints it to an exported archive (timed),
// removes it, and restores the archive as a new container (timed).
func podmanRound(podman, ref string, workload []string, compression, dir string, i int) (podmanResult, error) {
	var r podmanResult
	name := fmt.Sprintf("arch-bench-%d-%s-%d", os.Getpid(), compression, i)
	restored := name + "-r"
	defer runQuiet(podman, "rm", "-f", "-t", "0", name)
	defer runQuiet(podman, "rm", "-f", "-t", "0", restored)
	// No network but lo, as the bundles of bench ckpt (runc spec).
	run := append([]string{"run", "-d", "--network", "none"}, podmanUlimits()...)
	if err := runQuiet(podman, append(append(run, "--name", name, ref), workload...)...); err != nil {
		return r, err
	}
	root, err := exec.Command(podman, "mount", name).Output()
	if err != nil {
		return r, fmt.Errorf("podman mount %s: %w", name, err)
	}
	if err := waitFile(filepath.Join(strings.TrimSpace(string(root)), "tmp", "ready")); err != nil {
		return r, err
	}
	export := filepath.Join(dir, name+".tar")
	defer os.Remove(export)
	t0 := time.Now()
	if err := runQuiet(podman, "container", "checkpoint", "--export", export, "--compress", compression, name); err != nil {
		return r, err
	}
	r.ckpt = time.Since(t0)
	if st, err := os.Stat(export); err == nil {
		r.size = st.Size()
	}
	if err := runQuiet(podman, "rm", "-f", "-t", "0", name); err != nil {
		return r, err
	}
	t0 = time.Now()
	if err := runQuiet(podman, "container", "restore", "--import", export, "--name", restored); err != nil {
		return r, err
	}
	r.restore = time.Since(t0)
	return r, nil
}

// sizes lists an archive size per compression: "256.1 MiB (none), ...".
func sizes(compressions []string, size func(string) int64) string {
	var parts []string
	for _, c := range compressions {
		parts = append(parts, fmt.Sprintf("%.1f MiB (%s)", float64(size(c))/(1<<20), c))
	}
	return strings.Join(parts, ", ")
}

// podmanUlimits are --ulimit flags below this machine's limits: Podman
// raises RLIMIT_NOFILE and RLIMIT_NPROC by default, which this VM refuses
// ("error setting rlimit"), even to the host's own values. 1024 open files
// is what the runc spec of bench ckpt gives its containers.
func podmanUlimits() []string {
	return []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"}
}
