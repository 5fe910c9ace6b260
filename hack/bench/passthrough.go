package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// passthrough compares `arch-wrapper state ID` with `runc state ID` on a
// running container, interleaving the two so that load drifts hit both.
func passthrough(args []string) error {
	fs := flag.NewFlagSet("passthrough", flag.ExitOnError)
	e := commonFlags(fs)
	runs := fs.Int("runs", 400, "calls of each")
	fs.Parse(args)
	work, lower, cleanup, err := workImage(e.work)
	if err != nil {
		return err
	}
	defer cleanup()
	b := filepath.Join(work, "b")
	if err := bundle(b, lower, []string{"/bin/sleep", "1000"}, nil); err != nil {
		return err
	}
	defer unmountBundle(b)
	root := filepath.Join(work, "runc")
	if err := runDetached(e.runc, "--root", root, "run", "-d", "--bundle", b, "pt"); err != nil {
		return err
	}
	defer runQuiet(e.runc, "--root", root, "delete", "-f", "pt")
	conf := filepath.Join(work, "arch.conf")
	os.WriteFile(conf, []byte("runc = "+e.runc+"\nlog_file = "+work+"/arch.log\nstate_dir = "+work+"/state\n"), 0o644)
	envv := append(os.Environ(), "ARCH_CONFIG="+conf)
	floor := filepath.Join(work, "execwrap")
	src, _ := filepath.Abs("hack/bench/workload/execwrap.c")
	if err := runQuiet("gcc", "-O2", "-static", `-DRUNC="`+e.runc+`"`, "-o", floor, src); err != nil {
		return err
	}
	var plain, arch, goPath, minimal []time.Duration
	for i := 0; i < *runs; i++ {
		plain = append(plain, timeCmd(envv, e.runc, "--root", root, "state", "pt"))
		arch = append(arch, timeCmd(envv, e.wrapper, "--root", root, "state", "pt"))
		goPath = append(goPath, timeCmd(append(envv, "ARCH_NO_FASTPATH=1"), e.wrapper, "--root", root, "state", "pt"))
		minimal = append(minimal, timeCmd(envv, floor, "--root", root, "state", "pt"))
	}
	header()
	row(fmt.Sprintf("pass-through `state` (%d calls)", *runs), median(arch), median(plain), "<= 1.05")
	row("  same, Go path only (ARCH_NO_FASTPATH=1)", median(goPath), median(plain), "")
	row("  floor: a 5-line static C execv wrapper", median(minimal), median(plain), "")
	return nil
}

func timeCmd(env []string, path string, args ...string) time.Duration {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s %v: %v\n", path, args, err)
	}
	return time.Since(start)
}

func runQuiet(path string, args ...string) error {
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v: %s", path, args, err, out)
	}
	return nil
}

// runDetached runs a command whose children keep running: their stdio must
// not be a pipe the caller waits on.
func runDetached(path string, args ...string) error {
	cmd := exec.Command(path, args...)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w", path, args, err)
	}
	return nil
}

// workImage makes the work folder (workDir) with the benchmark's image
// in it (image): the preamble of the benchmarks that run a container.
func workImage(given string) (work, lower string, cleanup func(), err error) {
	work, cleanup, err = workDir(given)
	if err != nil {
		return "", "", nil, err
	}
	if lower, err = image(work); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return work, lower, cleanup, nil
}

func workDir(given string) (string, func(), error) {
	if given != "" {
		return given, func() {}, os.MkdirAll(given, 0o755)
	}
	d, err := os.MkdirTemp("/tmp", "arch-bench-")
	return d, func() { os.RemoveAll(d) }, err
}
