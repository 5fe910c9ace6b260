package testbed

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
)

// RunOpts are the `ctr run` options the tests use.
type RunOpts struct {
	// RuncBinary is passed as --runc-binary (the wrapper); "" means runc.
	RuncBinary string
	// Env adds container environment variables (--env K=V).
	Env map[string]string
	// Detach runs the task in the background (--detach); without it ctr
	// waits for the task to exit (bounded by CtrTimeout).
	Detach bool
	// LogFile receives the task's stdout/stderr (--log-uri file://...).
	// "" means logs/<ns>-<id>.log in the instance's folder; "-" means
	// ctr's own stdio.
	LogFile string
	// Mounts are --mount values, e.g. "type=bind,src=/x,dst=/x,options=rbind:rw".
	Mounts []string
	// Args are extra `ctr run` flags.
	Args []string
	// Cmd replaces the image's command when not empty.
	Cmd []string
}

// Run creates and starts container id from image ref. Every container gets
// the instance's runc root and a cgroup under the instance's own parent, so
// that two instances can run the same id side by side.
func (in *Instance) Run(ns, ref, id string, o RunOpts) error {
	_, err := in.Ctr(ns, in.runArgs(ns, ref, id, o)...)
	return err
}

// runArgs is the `ctr run` command line of Run.
func (in *Instance) runArgs(ns, ref, id string, o RunOpts) []string {
	args := []string{"run", "--runc-root", in.RuncRoot, "--cgroup", in.CgroupPath(ns, id)}
	if o.RuncBinary != "" {
		args = append(args, "--runc-binary", o.RuncBinary)
	}
	if o.Detach {
		args = append(args, "--detach")
	}
	switch o.LogFile {
	case "-":
	case "":
		args = append(args, "--log-uri", "file://"+in.TaskLog(ns, id))
	default:
		args = append(args, "--log-uri", "file://"+o.LogFile)
	}
	keys := make([]string, 0, len(o.Env))
	for k := range o.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--env", k+"="+o.Env[k])
	}
	for _, m := range o.Mounts {
		args = append(args, "--mount", m)
	}
	args = append(args, o.Args...)
	args = append(args, ref, id)
	return append(args, o.Cmd...)
}

// CgroupPath is the cgroup Run gives container id of namespace ns.
func (in *Instance) CgroupPath(ns, id string) string {
	return fmt.Sprintf("%s/%s-%s", in.Cgroup, ns, id)
}

// TaskLog is the default log file of a task started by Run.
func (in *Instance) TaskLog(ns, id string) string {
	return filepath.Join(in.logDir(), ns+"-"+id+".log")
}

// Rootfs is the host path of a task's mounted root file system (readable
// even while the task is paused, unlike through exec).
func (in *Instance) Rootfs(ns, id string) string {
	return filepath.Join(in.State, "io.containerd.runtime.v2.task", ns, id, "rootfs")
}

// RuntimeOptions returns the raw runc options containerd keeps for
// container id (protobuf: they hold the --runc-binary and --runc-root paths).
func (in *Instance) RuntimeOptions(ns, id string) ([]byte, error) {
	out, err := in.CtrOut(ns, "container", "info", id)
	if err != nil {
		return nil, err
	}
	var info struct {
		Runtime struct {
			Options struct {
				Value []byte `json:"value"` // base64 in JSON
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return nil, fmt.Errorf("ctr container info %s: %w", id, err)
	}
	return info.Runtime.Options.Value, nil
}
