package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// image is a read-only lower layer with static busybox and memtouch.
func image(work string) (string, error) {
	lower := filepath.Join(work, "lower")
	for _, d := range []string{"bin", "tmp", "proc", "sys", "dev", "etc"} {
		if err := os.MkdirAll(filepath.Join(lower, d), 0o755); err != nil {
			return "", err
		}
	}
	os.Chmod(filepath.Join(lower, "tmp"), 0o1777)
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(lower, "bin", "busybox")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cp busybox: %v: %s", err, out)
	}
	for _, a := range []string{"sh", "cat", "sleep"} {
		os.Symlink("busybox", filepath.Join(lower, "bin", a))
	}
	src, err := filepath.Abs("hack/bench/workload/memtouch.c")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", filepath.Join(lower, "memtouch"), src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc memtouch: %v: %s", err, out)
	}
	return lower, nil
}

// bundle makes an OCI bundle whose rootfs is a fresh overlay over lower,
// running args, with env added to the process environment.
func bundle(dir, lower string, args, env []string) error {
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{rootfs, filepath.Join(dir, "upper"), filepath.Join(dir, "ovwork")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, filepath.Join(dir, "upper"), filepath.Join(dir, "ovwork"))
	if err := syscall.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	cmd := exec.Command("runc", "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %v: %s", err, out)
	}
	p := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return err
	}
	proc := spec["process"].(map[string]any)
	proc["args"] = args
	proc["terminal"] = false
	pe := proc["env"].([]any)
	for _, e := range env {
		pe = append(pe, e)
	}
	proc["env"] = pe
	spec["root"] = map[string]any{"path": "rootfs", "readonly": false}
	data, err = json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func unmountBundle(dir string) {
	syscall.Unmount(filepath.Join(dir, "rootfs"), syscall.MNT_DETACH)
}
