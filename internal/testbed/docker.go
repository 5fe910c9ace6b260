package testbed

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker is a private dockerd on top of a test bed containerd instance
// (namespace "moby"), with the runtime "arch" (arch-wrapper) registered as
// an operator would in daemon.json.
type Docker struct {
	Host    string // DOCKER_HOST
	Dir     string
	LogFile string
	t       testing.TB
	cmd     *exec.Cmd
	exited  chan struct{}
}

// StartDocker starts dockerd on in, with no networking of its own (the
// tests run containers with --network none), and stops it at the end of
// the test, before in.
func StartDocker(t testing.TB, in *Instance, wrapper string) *Docker {
	t.Helper()
	bin, err := LookPath("dockerd")
	if err != nil {
		t.Fatalf("testbed: %v (hack/install-deps.sh installs docker.io)", err)
	}
	d := &Docker{Dir: filepath.Join(in.Dir, "docker"), t: t, exited: make(chan struct{})}
	d.Host = "unix://" + filepath.Join(d.Dir, "docker.sock")
	d.LogFile = filepath.Join(d.Dir, "dockerd.log")
	if err := os.MkdirAll(d.Dir, 0o711); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	logf, err := os.Create(d.LogFile)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	defer logf.Close()
	d.cmd = exec.Command(bin,
		"--data-root", filepath.Join(d.Dir, "data"), "--exec-root", filepath.Join(d.Dir, "exec"),
		"--pidfile", filepath.Join(d.Dir, "dockerd.pid"), "-H", d.Host, "--containerd", in.Address,
		"--experimental", "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
		"--storage-driver", "overlay2", "--add-runtime", "arch="+wrapper)
	d.cmd.Dir, d.cmd.Env = d.Dir, in.Env
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("testbed: starting dockerd: %v", err)
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(d.stop)
	err = Poll(StartTimeout, func() error {
		select {
		case <-d.exited:
			return fmt.Errorf("dockerd exited: %v", d.cmd.ProcessState)
		default:
		}
		_, err := d.Out("version")
		return err
	})
	if err != nil {
		d.dumpLog()
		t.Fatalf("testbed: dockerd did not start: %v", err)
	}
	t.Logf("testbed: dockerd ready at %s on containerd %q", d.Host, in.Name)
	return d
}

// Docker runs the docker CLI against this daemon.
func (d *Docker) Docker(args ...string) (Result, error) {
	env := append(baseEnv(), "DOCKER_HOST="+d.Host, "DOCKER_CONFIG="+filepath.Join(d.Dir, "cli"))
	return runTool("docker", env, d.Dir, args, len(args))
}

// Out runs docker and returns its stdout; a non-zero exit is an error that
// carries stderr.
func (d *Docker) Out(args ...string) (string, error) {
	res, err := d.Docker(args...)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("docker %s: exit %d: %s", strings.Join(args, " "), res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return res.Stdout, err
}

// ImportImage makes image ref in dockerd from files and cfg (docker import
// of the layer with Dockerfile changes: dockerd 20.10 cannot load an OCI
// layout).
func (d *Docker) ImportImage(ref string, files map[string]File, cfg ImageConfig) error {
	layer, _, err := buildLayer(files)
	if err != nil {
		return err
	}
	tarPath := filepath.Join(d.Dir, "import.tar.gz")
	if err := os.WriteFile(tarPath, layer, 0o600); err != nil {
		return err
	}
	defer os.Remove(tarPath)
	args := []string{"import"}
	for _, e := range cfg.Env {
		args = append(args, "--change", "ENV "+e)
	}
	if len(cfg.Entrypoint) > 0 {
		ep, err := json.Marshal(cfg.Entrypoint)
		if err != nil {
			return err
		}
		args = append(args, "--change", "ENTRYPOINT "+string(ep))
	}
	if cfg.WorkingDir != "" {
		args = append(args, "--change", "WORKDIR "+cfg.WorkingDir)
	}
	_, err = d.Out(append(args, tarPath, ref)...)
	return err
}

// State is `docker inspect`'s State.Status of a container ("running",
// "exited", ...).
func (d *Docker) State(name string) (string, error) {
	out, err := d.Out("inspect", "--format", "{{.State.Status}}", name)
	return strings.TrimSpace(out), err
}

// WaitState polls until the container's State.Status is want.
func (d *Docker) WaitState(name, want string, timeout time.Duration) error {
	return Poll(timeout, func() error {
		got, err := d.State(name)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("container %s: state %q, want %q", name, got, want)
		}
		return nil
	})
}

// stop removes every container and stops dockerd.
func (d *Docker) stop() {
	if d.t.Failed() {
		d.dumpLog()
	}
	select {
	case <-d.exited:
		return
	default:
	}
	if ids, err := d.Out("ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
		_, _ = d.Docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(StopTimeout):
		d.t.Logf("testbed: dockerd ignored SIGTERM for %v: killing it", StopTimeout)
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
}

func (d *Docker) dumpLog() {
	data, _ := os.ReadFile(d.LogFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	d.t.Logf("testbed: last lines of dockerd's log (%s):\n%s", d.LogFile, strings.Join(lines, "\n"))
}
