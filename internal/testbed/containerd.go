package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Instance is a private containerd daemon ("a node") with its own root,
// state, socket, runc root and cgroup parent, all under Dir.
type Instance struct {
	Name     string
	Dir      string // everything of this instance lives here
	Root     string // containerd --root
	State    string // containerd --state
	Address  string // containerd's socket
	RuncRoot string // passed to every `ctr run --runc-root`
	Cgroup   string // parent of the containers' cgroups ("/arch-e2e-...")
	LogFile  string // the daemon's log
	Env      []string

	t      testing.TB
	cmd    *exec.Cmd
	exited chan struct{}
}

// Option changes how Start starts containerd.
type Option func(*startOptions)

type startOptions struct {
	env      map[string]string
	logLevel string
	ready    time.Duration
	// criHook and criWrapper: the CRI plugin is on, its runtime made to
	// run criWrapper by `criHook install --containerd` ("": no CRI plugin).
	criHook, criWrapper string
}

// WithEnv adds a variable to the daemon's environment, inherited by the
// shim, runc (or the wrapper) and CRIU: e.g. ARCH_CONFIG and ARCH_RUNC.
func WithEnv(key, value string) Option {
	return func(o *startOptions) { o.env[key] = value }
}

// WithLogLevel sets containerd's log level (default "debug").
func WithLogLevel(level string) Option {
	return func(o *startOptions) { o.logLevel = level }
}

// WithCRI enables containerd's CRI plugin (the kubelet's API). Its
// default runtime, "runc", is made to run arch-wrapper as an operator does
// it: `arch-hook install --containerd` on the configuration (version 2 or
// 3, as the stack's containerd reads it) sets the runtime's BinaryName to
// wrapper. Pods get the host network (there is no CNI here) and the shell
// counter image as their sandbox image: import it into the "k8s.io"
// namespace first.
func WithCRI(hook, wrapper string) Option {
	return func(o *startOptions) { o.criHook, o.criWrapper = hook, wrapper }
}

// StartTimeout bounds the wait for a new daemon to answer `ctr version`.
const StartTimeout = 30 * time.Second

// Start starts a private containerd named name (short: it is part of the
// folder name) and stops it, with everything it started, when the test ends.
func Start(t testing.TB, name string, opts ...Option) *Instance {
	t.Helper()
	o := startOptions{env: map[string]string{}, logLevel: "debug", ready: StartTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	// A short base: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "arch-e2e-"+name+"-")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	in := &Instance{
		Name: name, Dir: dir,
		Root:     filepath.Join(dir, "root"),
		State:    filepath.Join(dir, "state"),
		RuncRoot: filepath.Join(dir, "runc"),
		Cgroup:   "/" + filepath.Base(dir),
		LogFile:  filepath.Join(dir, "containerd.log"),
		t:        t,
		exited:   make(chan struct{}),
	}
	in.Address = filepath.Join(in.State, "containerd.sock")
	for _, d := range []string{in.Root, in.State, in.RuncRoot, in.logDir()} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			t.Fatalf("testbed: %v", err)
		}
	}
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(in.config(o.logLevel, o.criHook != "")), 0o644); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	if o.criHook != "" {
		installRuntime(t, o.criHook, config, o.criWrapper)
	}
	in.Env = baseEnv()
	keys := make([]string, 0, len(o.env))
	for k := range o.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Env = append(in.Env, k+"="+o.env[k])
	}
	bin, err := LookPath("containerd")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	logf, err := os.Create(in.LogFile)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	defer logf.Close()
	in.cmd = exec.Command(bin, "--config", config, "--root", in.Root, "--state", in.State, "--address", in.Address)
	in.cmd.Dir = dir
	in.cmd.Env = in.Env
	in.cmd.Stdout, in.cmd.Stderr = logf, logf
	// Its own process group; killed if the test process dies.
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		t.Fatalf("testbed: starting containerd: %v", err)
	}
	go func() { _ = in.cmd.Wait(); close(in.exited) }()
	t.Cleanup(in.stop)
	err = Poll(o.ready, func() error {
		select {
		case <-in.exited:
			return fmt.Errorf("containerd exited: %v", in.cmd.ProcessState)
		default:
		}
		_, err := in.Ctr("default", "version")
		return err
	})
	if err != nil {
		in.dumpLog(t)
		t.Fatalf("testbed: containerd %s did not start: %v", name, err)
	}
	t.Logf("testbed: containerd %q ready at %s", name, in.Address)
	return in
}

// config is containerd's configuration, in the active stack's version:
// plugins the tests do not use (CRI first of all, slow to start) are
// disabled. The v1 linux runtime stays: containerd 1.6's tasks service
// does not load without it.
func (in *Instance) config(logLevel string, cri bool) string {
	v3 := ActiveStack.ConfigVersion == 3
	var disabled []string
	if !cri {
		disabled = append(disabled, "io.containerd.grpc.v1.cri")
		if v3 {
			disabled = append(disabled, "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime")
		}
	}
	disabled = append(disabled,
		"io.containerd.internal.v1.opt", // would write /opt/containerd
		"io.containerd.internal.v1.tracing",
		"io.containerd.tracing.processor.v1.otlp",
		"io.containerd.snapshotter.v1.aufs",
		"io.containerd.snapshotter.v1.btrfs",
		"io.containerd.snapshotter.v1.devmapper",
		"io.containerd.snapshotter.v1.zfs",
	)
	version := 2
	if v3 {
		version = 3
	}
	config := fmt.Sprintf(`version = %d
root = %q
state = %q
disabled_plugins = ["%s"]

[grpc]
  address = %q

[debug]
  level = %q
`, version, in.Root, in.State, strings.Join(disabled, `", "`), in.Address, logLevel)
	if !cri {
		return config
	}
	cni := filepath.Join(in.Dir, "cni")
	// restrict_oom_score_adj: the kubelet's -998 for sandboxes needs
	// CAP_SYS_RESOURCE, which these machines' root lacks.
	if v3 {
		// containerd 2.x splits the CRI plugin: images, runtime, and the
		// gRPC service.
		return config + fmt.Sprintf(`
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = %q
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        Root = %q
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [%q]
    conf_dir = %q
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`, ShellCounterRef, in.RuncRoot, cni, cni)
	}
	return config + fmt.Sprintf(`
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, ShellCounterRef, in.RuncRoot, cni, cni)
}

// installRuntime runs `arch-hook install --containerd` on config, and
// checks that the runtime now runs wrapper.
func installRuntime(t testing.TB, hook, config, wrapper string) {
	t.Helper()
	out, err := exec.Command(hook, "install", "--containerd", "--containerd-config", config, "--binary", wrapper).CombinedOutput()
	if err != nil {
		t.Fatalf("testbed: arch-hook install --containerd: %v\n%s", err, out)
	}
	data, err := os.ReadFile(config)
	if err != nil || !strings.Contains(string(data), "BinaryName = "+strconv.Quote(wrapper)+"\n") {
		t.Fatalf("testbed: arch-hook install --containerd left no BinaryName %s in %s (%v):\n%s", wrapper, config, err, data)
	}
}

func (in *Instance) logDir() string { return filepath.Join(in.Dir, "logs") }
