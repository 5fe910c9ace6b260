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

// checkpointRestore compares, for a container with -mib MiB of touched
// memory, paused first as containerd does, ARCH's checkpoint (dump, commit
// to the store, stop) with a plain `runc checkpoint` (dump and stop), and ARCH's create turned into a
// restore (validate, unpack, runc restore, start answered) with a plain
// `runc restore --detach` of the plain image. Each round does one of each.
func checkpointRestore(args []string) error {
	fs := flag.NewFlagSet("ckpt", flag.ExitOnError)
	e := commonFlags(fs)
	prof := profileFlags(fs)
	mib := fs.Int("mib", 256, "touched memory of the workload")
	runs := fs.Int("runs", 5, "rounds")
	compression := fs.String("compression", "zstd", "ARCH archive compression: zstd or none")
	fill := fs.String("fill", "random", "memory content: random or zero")
	fs.Parse(args)
	work, lower, cleanup, err := workImage(e.work)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := prof.setUp(e, work); err != nil {
		return err
	}
	b := newBench(e, work, lower, *compression, []string{"/memtouch", fmt.Sprint(*mib), *fill})
	b.envv = append(b.envv, prof.environ()...)

	var plainCk, archCk, plainRs, archRs, tarZstd []time.Duration
	var phases []map[string]any
	var size int64
	for i := 0; i < *runs; i++ {
		r, err := b.round(i)
		if err != nil {
			return err
		}
		plainCk, archCk = append(plainCk, r.plainCkpt), append(archCk, r.archCkpt)
		plainRs, archRs = append(plainRs, r.plainRestore), append(archRs, r.archRestore)
		tarZstd = append(tarZstd, r.tarZstd)
		phases = append(phases, r.phases)
		size = r.size
	}
	ph := func(path ...string) time.Duration { return medianPhase(phases, path...) }
	header()
	what := fmt.Sprintf("%d MiB %s", *mib, *fill)
	target := "<= 1.8"
	if *compression != "none" {
		target = ""
	}
	row("checkpoint "+what+", "+*compression+" (ARCH vs runc checkpoint)", median(archCk), median(plainCk), target)
	row("  ARCH's dump, archive streamed meanwhile (vs runc checkpoint)", ph("dump"), median(plainCk), "")
	row("  archive after the dump (vs tar | zstd -1 + fsync after it)", ph("archive", "tail"), median(tarZstd), "")
	row("restore "+what+", "+*compression+" (create->running vs runc restore)", median(archRs), median(plainRs), "<= 1.15")
	fmt.Printf("image: %d MiB touched memory -> archive %.1f MiB (%s)\n", *mib, float64(size)/(1<<20), *compression)
	whereAMiBGoes(os.Stdout, phases, *mib, median(archCk))
	prof.report(os.Stdout)
	return nil
}

// newBench writes the ARCH configuration of a benchmark in work (its
// state, store and staging there too) and returns the bench that runs args
// in containers over lower.
func newBench(e *env, work, lower, compression string, args []string) *bench {
	conf := filepath.Join(work, "arch.conf")
	archLog := filepath.Join(work, "arch.log")
	os.WriteFile(conf, []byte(fmt.Sprintf("runc = %s\nlog_file = %s\nstate_dir = %s/state\nstore = %s/store\nstaging_dir = %s/staging\ncompression = %s\nhook = %s\n",
		e.runc, archLog, work, work, work, compression, absPath(e.hook))), 0o644)
	return &bench{env: e, work: work, lower: lower, root: filepath.Join(work, "runc"),
		envv: append(os.Environ(), "ARCH_CONFIG="+conf), archLog: archLog, runcLog: filepath.Join(work, "runc.log"),
		args: args}
}

type bench struct {
	env                                 *env
	work, lower, root, archLog, runcLog string
	envv                                []string
	args                                []string
	// beforeRestore, when set, runs before each round's restore.
	beforeRestore func(round int)
}

type roundResult struct {
	plainCkpt, archCkpt, plainRestore, archRestore, tarZstd time.Duration
	size                                                    int64
	phases                                                  map[string]any // ARCH's log: the checkpoint's phases
}

func (b *bench) round(i int) (roundResult, error) {
	var r roundResult
	// Plain runc: run, checkpoint (dump + stop), restore from the image.
	pb := filepath.Join(b.work, fmt.Sprintf("plain-%d", i))
	if err := bundle(pb, b.lower, b.args, nil); err != nil {
		return r, err
	}
	defer unmountBundle(pb)
	pid := fmt.Sprintf("plain-%d-%d", os.Getpid(), i)
	defer b.kill(b.env.runc, pid)
	if err := b.start(b.env.runc, pb, pid); err != nil {
		return r, err
	}
	img := filepath.Join(b.work, "img-"+pid)
	var err error
	// As containerd does before every checkpoint: pause first (not timed).
	if err := b.call(b.env.runc, "pause", pid); err != nil {
		return r, err
	}
	if r.plainCkpt, err = b.timed(b.env.runc, "checkpoint", "--image-path", img, pid); err != nil {
		return r, err
	}
	runQuiet(b.env.runc, "--root", b.root, "delete", "-f", pid)
	// The restore needs the files the dump saw: a fresh overlay would lose
	// /tmp/ready, so the same rootfs is used (as runc restore users do).
	if r.plainRestore, err = b.timed(b.env.runc, "restore", "--detach", "--image-path", img, "--bundle", pb, pid); err != nil {
		return r, err
	}
	runQuiet(b.env.runc, "--root", b.root, "delete", "-f", pid)
	os.RemoveAll(img)

	// ARCH: the same container enabled, through arch-wrapper.
	ab := filepath.Join(b.work, fmt.Sprintf("arch-%d", i))
	if err := bundle(ab, b.lower, b.args, []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=bench"}); err != nil {
		return r, err
	}
	defer unmountBundle(ab)
	aid := fmt.Sprintf("arch-%d-%d", os.Getpid(), i)
	defer b.kill(b.env.runc, aid)
	if err := b.start(b.env.wrapper, ab, aid); err != nil {
		return r, err
	}
	aimg := filepath.Join(b.work, "img-"+aid)
	if err := b.call(b.env.runc, "pause", aid); err != nil {
		return r, err
	}
	if r.archCkpt, err = b.timed(b.env.wrapper, "checkpoint", "--image-path", aimg, aid); err != nil {
		return r, err
	}
	r.phases, r.size = b.lastCommit()
	runQuiet(b.env.wrapper, "--root", b.root, "delete", "-f", aid)
	// The baseline for the archive write: the same dump (ARCH gave the
	// caller's --image-path hardlinks of it) through tar | zstd, fsynced.
	out := filepath.Join(b.work, "store", "tar-baseline.tar.zst")
	t0 := time.Now()
	if err := runQuiet("sh", "-c", fmt.Sprintf("tar -cf - -C %s . | zstd -q -1 -T0 -o %s -f && sync %s", aimg, out, out)); err != nil {
		return r, err
	}
	r.tarZstd = time.Since(t0)
	os.Remove(out)
	os.RemoveAll(aimg)
	if b.beforeRestore != nil {
		b.beforeRestore(i)
	}
	// A new container of the same workload: ARCH restores it at create.
	rb := filepath.Join(b.work, fmt.Sprintf("arch-restore-%d", i))
	if err := bundle(rb, b.lower, b.args, []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=bench"}); err != nil {
		return r, err
	}
	defer unmountBundle(rb)
	rid := aid + "-r"
	defer b.kill(b.env.runc, rid)
	t0 = time.Now()
	if err := b.call(b.env.wrapper, "create", "--bundle", rb, "--pid-file", filepath.Join(rb, "init.pid"), rid); err != nil {
		return r, err
	}
	if err := b.call(b.env.wrapper, "start", rid); err != nil {
		return r, err
	}
	r.archRestore = time.Since(t0)
	if !b.restoredLogged(rid) {
		return r, fmt.Errorf("round %d: ARCH did not restore %s (see %s)", i, rid, b.archLog)
	}
	runQuiet(b.env.wrapper, "--root", b.root, "kill", rid, "KILL")
	runQuiet(b.env.wrapper, "--root", b.root, "delete", "-f", rid)
	return r, nil
}

// kill removes a container whatever its state (cleanup after errors).
func (b *bench) kill(bin, id string) {
	runQuiet(bin, "--root", b.root, "delete", "-f", id)
}

// start runs a container (create + start) and waits for its memory to be touched.
func (b *bench) start(bin, dir, id string) error {
	if err := b.call(bin, "create", "--bundle", dir, "--pid-file", filepath.Join(dir, "init.pid"), id); err != nil {
		return err
	}
	if err := b.call(bin, "start", id); err != nil {
		return err
	}
	return waitFile(filepath.Join(dir, "upper", "tmp", "ready"))
}

func (b *bench) call(bin string, args ...string) error {
	os.Truncate(b.runcLog, 0)
	cmd := exec.Command(bin, append([]string{"--root", b.root, "--log", b.runcLog}, args...)...)
	cmd.Env = b.envv
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devnull.Close()
	// A container inherits the stdio of create/restore: /dev/null, never a
	// pipe the bench would wait on or a file CRIU could not dump. runc's
	// errors go to its --log file.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(b.runcLog)
		return fmt.Errorf("%s %v: %v: %s", filepath.Base(bin), args, err, lastLines(string(msg), 3))
	}
	return nil
}

func (b *bench) timed(bin string, args ...string) (time.Duration, error) {
	t0 := time.Now()
	err := b.call(bin, args...)
	return time.Since(t0), err
}

// lastCommit reads ARCH's log for the last checkpoint's phases (ms, with
// the archive's own in "archive") and the archive size.
func (b *bench) lastCommit() (phases map[string]any, size int64) {
	eachLogLine(b.archLog, func(m map[string]any) {
		if m["msg"] == "checkpoint committed, container stopped" {
			phases, _ = m["phases"].(map[string]any)
			if v, ok := m["bytes"].(float64); ok {
				size = int64(v)
			}
		}
	})
	fmt.Fprintf(os.Stderr, "bench: ARCH checkpoint phases (ms): %v\n", phases)
	return phases, size
}

func (b *bench) restoredLogged(id string) bool {
	data, _ := os.ReadFile(b.archLog)
	return strings.Contains(string(data), `"id":"`+id+`"`) && strings.Contains(string(data), "create turned into restore")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func ms(v any) time.Duration {
	f, _ := v.(float64)
	return time.Duration(f * float64(time.Millisecond))
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
