package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/internal/archprof"
)

// profiling is -cpuprofile and -trace of bench ckpt and bench drain. The
// work they measure happens in arch-wrapper (a child of the bench, or of
// containerd's shim) and arch-hook, so the bench builds both with the
// archprofile tag into its work folder, runs those, and hands them the
// prefixes through ARCH_CPUPROFILE and ARCH_TRACE (internal/archprof):
// every process that returns from main writes PREFIX.<command>.<pid>.
type profiling struct {
	cpu, trace string // prefixes, "" when off
	bin        string // folder of the profiled binaries
	since      time.Time
}

func profileFlags(fs *flag.FlagSet) *profiling {
	p := &profiling{}
	fs.StringVar(&p.cpu, "cpuprofile", "", "CPU profile of every arch-wrapper and arch-hook call to PREFIX.<command>.<pid> (builds them with -tags archprofile)")
	fs.StringVar(&p.trace, "trace", "", "execution trace of every arch-wrapper and arch-hook call to PREFIX.<command>.<pid> (likewise)")
	return p
}

func (p *profiling) on() bool { return p.cpu != "" || p.trace != "" }

// Build tags of `make build` (the Makefile's build target), which the
// profiled binaries add archprofile to.
const (
	wrapperTags = "osusergo,netgo"
	hookTags    = ""
)

// setUp builds the profiled arch-wrapper and arch-hook into work and
// points e at them. The bench runs from the repository's root.
func (p *profiling) setUp(e *env, work string) error {
	if !p.on() {
		return nil
	}
	if p.cpu == p.trace {
		return fmt.Errorf("-cpuprofile and -trace name the same files (%s.<command>.<pid>)", p.cpu)
	}
	for _, prefix := range []*string{&p.cpu, &p.trace} {
		if *prefix == "" {
			continue
		}
		// The wrapper's working folder is the container's bundle.
		*prefix = absPath(*prefix)
		if err := os.MkdirAll(filepath.Dir(*prefix), 0o755); err != nil {
			return err
		}
	}
	p.bin = filepath.Join(work, "profiled")
	builds := []struct{ name, tags, cgo string }{
		{"arch-wrapper", wrapperTags, "1"}, // cgo: the fast path
		{"arch-hook", hookTags, "0"},
	}
	for _, b := range builds {
		tags := strings.Trim("archprofile,"+b.tags, ",")
		cmd := exec.Command(goTool(), "build", "-tags", tags, "-o", filepath.Join(p.bin, b.name), "./cmd/"+b.name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build -tags %s ./cmd/%s: %v: %s", tags, b.name, err, out)
		}
	}
	e.wrapper, e.hook = filepath.Join(p.bin, "arch-wrapper"), filepath.Join(p.bin, "arch-hook")
	fmt.Fprintf(os.Stderr, "bench: profiling with %s and %s\n", e.wrapper, e.hook)
	p.since = time.Now()
	return nil
}

// environ is what the processes to profile need in their environment.
func (p *profiling) environ() []string {
	var env []string
	if p.cpu != "" {
		env = append(env, archprof.EnvCPUProfile+"="+p.cpu)
	}
	if p.trace != "" {
		env = append(env, archprof.EnvTrace+"="+p.trace)
	}
	return env
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// profileName is archprof.Path's file name: PREFIX.<command>.<pid>.
var profileName = regexp.MustCompile(`^\.([A-Za-z0-9_-]+)\.[0-9]+$`)

// profiles returns the files of this run under prefix, by command.
func profiles(prefix string, since time.Time) map[string][]string {
	dir, base := filepath.Dir(prefix), filepath.Base(prefix)
	ents, _ := os.ReadDir(dir)
	byCmd := map[string][]string{}
	for _, ent := range ents {
		m := profileName.FindStringSubmatch(strings.TrimPrefix(ent.Name(), base))
		if m == nil || !strings.HasPrefix(ent.Name(), base) {
			continue
		}
		if info, err := ent.Info(); err != nil || info.ModTime().Before(since) {
			continue // an earlier run's
		}
		byCmd[m[1]] = append(byCmd[m[1]], filepath.Join(dir, ent.Name()))
	}
	return byCmd
}

// The commands whose profiles the summary shows: arch-wrapper's checkpoint
// and its create (turned into a restore, or handed to runc), and
// arch-hook's checkpoint-all.
var summarized = []string{"checkpoint", "create", "checkpoint-all"}

// report keeps the binaries beside the profiles, says how to read them,
// and prints the top of the merged CPU profiles and of the traces' waits
// (traceViews: arch-wrapper's on runc, CRIU and fsync, checkpoint-all's
// on containerd).
func (p *profiling) report(w io.Writer) {
	if !p.on() {
		return
	}
	fmt.Fprintln(w)
	// Go's profiles carry their symbols; the binaries serve -list and
	// -disasm, and outlive the work folder beside the profiles.
	keep := p.cpu
	if keep == "" {
		keep = p.trace
	}
	var bins []string
	for _, name := range []string{"arch-wrapper", "arch-hook"} {
		dst := keep + "." + name + ".bin"
		if err := copyFile(filepath.Join(p.bin, name), dst); err == nil {
			bins = append(bins, dst)
		}
	}
	fmt.Fprintf(w, "profiled binaries: %s (arch-hook's commands: checkpoint-all and its OCI hooks, e.g. poststop, loopback)\n", strings.Join(bins, ", "))
	if p.cpu != "" {
		byCmd := profiles(p.cpu, p.since)
		fmt.Fprintf(w, "CPU profiles (%s.<command>.<pid>): %s\n", p.cpu, countsOf(byCmd))
		for _, cmd := range sortedKeys(byCmd) {
			fmt.Fprintf(w, "  go tool pprof -top %s.%s.*\n", p.cpu, cmd)
		}
		for _, cmd := range summarized {
			if files := byCmd[cmd]; len(files) > 0 {
				fmt.Fprintf(w, "\n%s: CPU, %d processes merged (go tool pprof -top -nodecount=15):\n", cmd, len(files))
				pprofTop(w, files)
			}
		}
	}
	if p.trace != "" {
		byCmd := profiles(p.trace, p.since)
		fmt.Fprintf(w, "\nexecution traces (%s.<command>.<pid>): %s\n", p.trace, countsOf(byCmd))
		for _, cmd := range sortedKeys(byCmd) {
			fmt.Fprintf(w, "  go tool trace %s\n", byCmd[cmd][0])
		}
		for _, cmd := range summarized {
			files := byCmd[cmd]
			if len(files) == 0 {
				continue
			}
			// Each trace is converted by its own go tool trace run: a few
			// tell where the time goes.
			files = files[:min(len(files), maxTraces)]
			v := traceViews[cmd]
			fmt.Fprintf(w, "\n%s: %s, %d traces merged (go tool trace -pprof=%s; pprof -top %s):\n", cmd, v.what, len(files), v.kind, strings.Join(v.args, " "))
			traceTop(w, v.kind, files, v.args...)
		}
	}
}

// traceViews is what the summary shows of a command's traces: for
// arch-wrapper, the syscalls it waited in (runc and CRIU as children,
// fsync); for arch-hook's checkpoint-all, its goroutines' waits for
// containerd's answers, by RPC (the gRPC reader goroutine, always
// blocked on the socket, says nothing).
var traceViews = map[string]struct {
	what, kind string
	args       []string
}{
	"checkpoint":     {"syscall blocking", "syscall", nil},
	"create":         {"syscall blocking", "syscall", nil},
	"checkpoint-all": {"containerd round trips (sync blocking in gRPC calls)", "sync", []string{"-cum", `-show=containerd/api/services|containerd/v2/client\.\(\*Client\)|drain\.\(\*Containerd\)`}},
}

// maxTraces bounds the traces of one command the summary converts.
const maxTraces = 10

// pprofTop prints `go tool pprof -top -nodecount=15` of files merged,
// with the extra pprof options args.
func pprofTop(w io.Writer, files []string, args ...string) {
	args = append([]string{"tool", "pprof", "-top", "-nodecount=15"}, args...)
	out, err := exec.Command(goTool(), append(args, files...)...).Output()
	switch {
	case err != nil:
		fmt.Fprintf(w, "  (go tool pprof: %v)\n", err)
	case strings.Contains(string(out), "accounting for 0, 0% of 0 total"):
		fmt.Fprintln(w, "  (none)")
	default:
		w.Write(indent(out))
	}
}

// traceTop converts each trace to a pprof profile of one kind of blocking
// and prints the top of them merged (args: more pprof options).
func traceTop(w io.Writer, kind string, traces []string, args ...string) {
	dir, err := os.MkdirTemp("", "bench-trace-")
	if err != nil {
		fmt.Fprintf(w, "  (%v)\n", err)
		return
	}
	defer os.RemoveAll(dir)
	var profs []string
	for i, t := range traces {
		out, err := exec.Command(goTool(), "tool", "trace", "-pprof="+kind, t).Output()
		if err != nil || len(out) == 0 {
			continue
		}
		p := filepath.Join(dir, fmt.Sprint(i))
		if os.WriteFile(p, out, 0o644) == nil {
			profs = append(profs, p)
		}
	}
	if len(profs) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	// With -cpuprofile too, the profiler's own reader waits in a syscall:
	// merged without it first, so that the percentages leave it out too.
	merged := filepath.Join(dir, "merged")
	merge := append([]string{"tool", "pprof", "-proto", `-ignore=runtime/pprof\.profileWriter`, "-output", merged}, profs...)
	if out, err := exec.Command(goTool(), merge...).CombinedOutput(); err != nil {
		fmt.Fprintf(w, "  (go tool pprof -proto: %v: %s)\n", err, lastLines(string(out), 2))
		return
	}
	pprofTop(w, []string{merged}, args...)
}

func countsOf(byCmd map[string][]string) string {
	var parts []string
	for _, cmd := range sortedKeys(byCmd) {
		parts = append(parts, fmt.Sprintf("%s %d", cmd, len(byCmd[cmd])))
	}
	if len(parts) == 0 {
		return "none written"
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func indent(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	return []byte("  " + strings.Join(lines, "  "))
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
