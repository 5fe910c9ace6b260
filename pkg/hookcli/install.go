package hookcli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/arch-ckpt/arch/pkg/install"
)

func init() {
	register("install", "make containerd (--containerd) or Docker (--docker) run arch-wrapper as their runc", runInstall)
}

// runInstall edits containerd's config.toml and/or Docker's daemon.json.
// It restarts nothing: the operator restarts the engine when it suits.
func runInstall(e *env, args []string) int {
	fs := newFlags(e, "install", "--containerd [--containerd-config PATH] [--runtime NAME] | --docker [--daemon-json PATH] [--default]  [--binary PATH] [--dry-run]")
	ctrd := fs.Bool("containerd", false, "set BinaryName of a CRI runtime in containerd's configuration")
	docker := fs.Bool("docker", false, "add the runtime \"arch\" to Docker's daemon.json")
	ctrdConfig := fs.String("containerd-config", install.DefaultContainerdConfig, "containerd's configuration file")
	runtime := fs.String("runtime", install.DefaultRuntime, "containerd CRI runtime whose runc is replaced (\"arch\" adds a runtime for a RuntimeClass)")
	daemonJSON := fs.String("daemon-json", install.DefaultDaemonJSON, "Docker's daemon configuration")
	setDefault := fs.Bool("default", false, "with --docker: make \"arch\" Docker's default-runtime (needed by ECS and AWS Batch)")
	binary := fs.String("binary", defaultWrapper(), "arch-wrapper's absolute path")
	dryRun := fs.Bool("dry-run", false, "say what would change, write nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || !*ctrd && !*docker {
		fmt.Fprintln(e.stderr, "arch-hook install: say --containerd, --docker or both")
		fs.Usage()
		return 2
	}
	status := 0
	if *ctrd {
		r, err := install.Containerd(install.ContainerdOptions{Config: *ctrdConfig, Binary: *binary, Runtime: *runtime, DryRun: *dryRun})
		if err != nil {
			fmt.Fprintf(e.stderr, "arch-hook install --containerd: %v\n", err)
			status = 1
		} else {
			printContainerd(e.stdout, r, *runtime, *binary, *dryRun)
		}
	}
	if *docker {
		r, err := install.Docker(install.DockerOptions{DaemonJSON: *daemonJSON, Binary: *binary, SetDefault: *setDefault, DryRun: *dryRun})
		if err != nil {
			fmt.Fprintf(e.stderr, "arch-hook install --docker: %v\n", err)
			status = 1
		} else {
			printDocker(e.stdout, r, *binary, *dryRun)
		}
	}
	return status
}

// defaultWrapper is arch-wrapper next to this arch-hook (make install puts
// them together), else /usr/local/bin/arch-wrapper.
func defaultWrapper() string {
	if self, err := os.Executable(); err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil && filepath.Base(self) == "arch-hook" {
			return filepath.Join(filepath.Dir(self), "arch-wrapper")
		}
	}
	return "/usr/local/bin/arch-wrapper"
}

// printOutcome writes the lines common to both engines.
func printOutcome(w io.Writer, r *install.Result, dryRun bool) {
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	for _, c := range r.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	switch {
	case dryRun && r.Changed:
		fmt.Fprintln(w, "  dry run: nothing written")
	case r.Backup != "":
		fmt.Fprintf(w, "  backup of the original: %s\n", r.Backup)
	case r.Created:
		fmt.Fprintln(w, "  (new file)")
	}
}

func printContainerd(w io.Writer, r *install.Result, runtime, binary string, dryRun bool) {
	fmt.Fprintf(w, "containerd: %s (config version %d), %s\n", r.Path, r.Version, r.Section)
	if !r.Changed {
		fmt.Fprintf(w, "  BinaryName is already %q: nothing changed\n", binary)
		return
	}
	if r.HadOld {
		fmt.Fprintf(w, "  BinaryName: %s -> %q\n", describeOld(r.Old, "empty: runc from containerd's PATH"), binary)
	}
	printOutcome(w, r, dryRun)
	if dryRun {
		return
	}
	fmt.Fprintf(w, "restart containerd to apply it (ARCH restarts nothing): systemctl restart containerd\n")
	fmt.Fprintf(w, "note: this is the CRI runtime %q: it applies to Kubernetes pods (and crictl); `ctr run` needs --runc-binary %s, Docker needs arch-hook install --docker\n", runtime, binary)
}

func printDocker(w io.Writer, r *install.Result, binary string, dryRun bool) {
	fmt.Fprintf(w, "docker: %s\n", r.Path)
	if !r.Changed {
		fmt.Fprintf(w, "  runtimes.%s.path is already %q: nothing changed\n", install.DockerRuntimeName, binary)
	} else {
		if r.HadOld {
			fmt.Fprintf(w, "  runtimes.%s.path was %q\n", install.DockerRuntimeName, r.Old)
		}
		printOutcome(w, r, dryRun)
	}
	if r.DefaultRuntime != install.DockerRuntimeName {
		fmt.Fprintf(w, "  default-runtime is %s: containers use ARCH only with `docker run --runtime %s`; --default makes it the default (ECS and AWS Batch need that)\n",
			describeOld(r.DefaultRuntime, "unset (runc)"), install.DockerRuntimeName)
	}
	if r.Changed && !dryRun {
		fmt.Fprintln(w, "restart dockerd to apply it (ARCH restarts nothing): systemctl restart docker")
	}
}

// describeOld quotes a previous value, or says what empty means.
func describeOld(v, empty string) string {
	if strings.TrimSpace(v) == "" {
		return empty
	}
	return fmt.Sprintf("%q", v)
}
