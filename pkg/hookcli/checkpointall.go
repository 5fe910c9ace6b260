package hookcli

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/drain"
)

func init() {
	register("checkpoint-all", "checkpoint every ARCH-enabled container of this node (before it goes away)", runCheckpointAll)
}

// DefaultDrainDeadline bounds checkpoint-all: a spot interruption notice
// comes 120 s before the instance goes.
const DefaultDrainDeadline = 110 * time.Second

// Exit statuses of `checkpoint-all --dry-run` beyond 0 (fits), 1 (an
// error: containerd could not be asked, the run was interrupted) and 2
// (bad flags or configuration).
const (
	ExitDoesNotFit = 3 // the estimate exceeds --deadline
	ExitCannotTell = 4 // something could not be measured, and the rest fits
)

// DefaultDrainAttempts is how many times checkpoint-all tries a container
// whose checkpoint failed and left it running.
const DefaultDrainAttempts = 3

// drainFlags are checkpoint-all's flags; watch-spot takes them too.
type drainFlags struct {
	address    string
	namespaces []string
	parallel   int
	attempts   int
	deadline   time.Duration
	json       bool
	config     string
	dryRun     bool // checkpoint-all only
}

func addDrainFlags(fs *pflag.FlagSet) *drainFlags {
	f := &drainFlags{}
	fs.StringVar(&f.address, "address", "", "containerd socket (default: the configuration's containerd_address)")
	fs.StringArrayVar(&f.namespaces, "namespace", nil, "only this containerd namespace (repeatable; default: all)")
	fs.IntVar(&f.parallel, "parallel", drain.DefaultParallel(), "checkpoints at once (2 per CPU, from 2 to 8)")
	fs.DurationVar(&f.deadline, "deadline", DefaultDrainDeadline, "no checkpoint starts after this long")
	fs.IntVar(&f.attempts, "attempts", DefaultDrainAttempts, "tries per container whose checkpoint failed and left it running, within the deadline")
	fs.BoolVar(&f.json, "json", false, "print the results as JSON (progress and table go to stderr)")
	fs.StringVar(&f.config, "config", "", "ARCH configuration file")
	return f
}

func (f *drainFlags) check() error {
	if f.parallel < 1 {
		return fmt.Errorf("--parallel %d: must be at least 1", f.parallel)
	}
	if f.deadline <= 0 {
		return fmt.Errorf("--deadline %v: must be positive", f.deadline)
	}
	if f.attempts < 1 {
		return fmt.Errorf("--attempts %d: must be at least 1", f.attempts)
	}
	return nil
}

func runCheckpointAll(e *env, args []string) int {
	fs := newFlags(e, "checkpoint-all", "[--address SOCK] [--namespace NS ...] [--parallel N] [--attempts N] [--deadline DUR] [--json] [--config PATH] [--dry-run]\n\n"+
		"With --dry-run nothing is checkpointed: for each container the run would checkpoint, its memory (cgroup anon+shmem+swap)\n"+
		"and writable layer, each store's write bandwidth (a 64 MiB fsynced probe file, removed), and the estimated drain time\n"+
		"against --deadline. Exit status: 0 fits, 3 does not fit (a WARNING line), 4 cannot tell (something could not be\n"+
		"measured), 1 error, 2 bad flags or configuration.\n")
	f := addDrainFlags(fs)
	fs.BoolVar(&f.dryRun, "dry-run", false, "checkpoint nothing: estimate the drain against --deadline (exit 0 fits, 3 does not fit, 4 cannot tell)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if err := f.check(); err != nil {
		fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\n", err)
		return 2
	}
	// A signal stops new checkpoints; running ones finish.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if f.dryRun {
		return f.estimate(ctx, e)
	}
	return f.drain(ctx, e, time.Now().Add(f.deadline))
}

// drain runs checkpoint-all once, bound by deadline, and returns its exit
// status: 0 when every enabled container was checkpointed, 1 when one
// failed or was not started (or containerd could not be asked), 2 when the
// configuration has errors.
func (f *drainFlags) drain(ctx context.Context, e *env, deadline time.Time) int {
	cfg, cd, code := f.connect(e)
	if cd == nil {
		return code
	}
	defer cd.Close()
	cd.Timeout = cfg.CheckpointTimeout + time.Minute
	cd.Allowed = cfg.Allowed()
	var err error
	if cd.Signer, err = archspec.Signer(cfg.ImageHMACKeyFile); err != nil {
		// arch-wrapper refuses these checkpoints with the same reason.
		fmt.Fprintf(e.stderr, "arch-hook: warning: %v\n", err)
	}
	log, closeLog := openLog(cfg, "checkpoint-all")
	defer closeLog()
	human, machine := e.stdout, io.Writer(nil)
	if f.json {
		human, machine = e.stderr, e.stdout
	}
	view, finish := progressView(human, deadline)
	rep, err := drain.Run(ctx, cd, cd, drain.Options{
		Namespaces: f.namespaces,
		Node:       drain.Node{Allowed: cfg.Allowed(), StateDir: cfg.StateDir},
		Parallel:   f.parallel,
		Attempts:   f.attempts,
		Deadline:   deadline,
		Observer:   drain.Observers{view, logObserver{&log}},
	})
	finish()
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook %v\n", err)
		return 1
	}
	logReport(&log, rep)
	if machine != nil {
		if err := drain.WriteJSON(machine, rep); err != nil {
			fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\n", err)
		}
	}
	if err := drain.WriteTable(human, rep); err != nil {
		fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\n", err)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// connect loads the configuration and dials containerd; on failure cd is
// nil and code is the exit status (2: the configuration has errors, 1:
// containerd cannot be reached), the reason printed.
func (f *drainFlags) connect(e *env) (cfg config.Config, cd *drain.Containerd, code int) {
	cfg, err := e.loadConfig(f.config)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\narch-hook checkpoint-all: refusing: while its configuration has errors, arch-wrapper hands checkpoints to plain runc, which would stop the containers without saving them\n", err)
		return cfg, nil, 2
	}
	address := f.address
	if address == "" {
		address = cfg.ContainerdAddress
	}
	cd, err = drain.Dial(address, cfg.StagingDir)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\n", err)
		return cfg, nil, 1
	}
	return cfg, cd, 0
}

// estimate runs checkpoint-all --dry-run: it checkpoints nothing, prints
// the estimate (drain.WriteEstimate; JSON on stdout with --json, the table
// then on stderr) and returns 0 when the drain fits the deadline,
// ExitDoesNotFit, ExitCannotTell, or 1 on an error.
func (f *drainFlags) estimate(ctx context.Context, e *env) int {
	cfg, cd, code := f.connect(e)
	if cd == nil {
		return code
	}
	defer cd.Close()
	est, err := drain.DryRun(ctx, cd, drain.DryRunOptions{
		Namespaces: f.namespaces,
		Node:       drain.Node{Allowed: cfg.Allowed(), StateDir: cfg.StateDir},
		Parallel:   f.parallel,
		Deadline:   f.deadline,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook %v\n", err)
		return 1
	}
	human := e.stdout
	if f.json {
		human = e.stderr
		if err := drain.WriteEstimateJSON(e.stdout, est); err != nil {
			fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\n", err)
			return 1
		}
	}
	if err := drain.WriteEstimate(human, est); err != nil {
		fmt.Fprintf(e.stderr, "arch-hook checkpoint-all: %v\n", err)
	}
	return verdictStatus(est.Verdict)
}

// verdictStatus is the exit status of a dry run's verdict.
func verdictStatus(v drain.Verdict) int {
	switch v {
	case drain.Fits:
		return 0
	case drain.DoesNotFit:
		return ExitDoesNotFit
	default:
		return ExitCannotTell
	}
}

// progressView is the live view on a terminal, plain lines elsewhere.
func progressView(w io.Writer, deadline time.Time) (drain.Observer, func()) {
	if rows, cols, ok := drain.Terminal(w); ok {
		board := drain.NewBoard()
		live := drain.NewLive(w, board, deadline, rows, cols)
		live.Start()
		return board, live.Stop
	}
	return drain.NewLines(w), func() {}
}
