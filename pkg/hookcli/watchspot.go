package hookcli

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/arch-ckpt/arch/pkg/spot"
)

func init() {
	register("watch-spot", "watch EC2 spot interruption notices and run checkpoint-all on one", runWatchSpot)
}

// DefaultSpotMargin is how long before the interruption time no new
// checkpoint starts.
const DefaultSpotMargin = 10 * time.Second

func runWatchSpot(e *env, args []string) int {
	fs := newFlags(e, "watch-spot", "[--endpoint URL] [--interval DUR] [--margin DUR] [--on-rebalance] [checkpoint-all flags]")
	endpoint := fs.String("endpoint", spot.DefaultEndpoint, "instance metadata service")
	interval := fs.Duration("interval", spot.DefaultInterval, "how often the notices are polled")
	margin := fs.Duration("margin", DefaultSpotMargin, "stop starting checkpoints this long before the interruption time")
	onRebalance := fs.Bool("on-rebalance", false, "run checkpoint-all on a rebalance recommendation too")
	ttl := fs.Duration("token-ttl", spot.DefaultTokenTTL, "lifetime of the IMDSv2 session token")
	f := addDrainFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	client, err := spot.NewClient(*endpoint, *ttl)
	if err == nil {
		err = f.check()
	}
	if err == nil && *interval <= 0 {
		err = fmt.Errorf("--interval %v: must be positive", *interval)
	}
	if err == nil {
		// Found now rather than at the notice, when checkpoint-all would refuse.
		_, err = e.loadConfig(f.config)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook watch-spot: %v\n", err)
		return 2
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "%s watch-spot: %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
	w := &spot.Watcher{Client: client, Interval: *interval, Logf: logf,
		OnInterruption: func(ctx context.Context, a spot.InstanceAction) {
			deadline := spot.DrainDeadline(time.Now(), a, *margin, f.deadline)
			logf("running checkpoint-all; no checkpoint starts after %s (in %v)", deadline.Format(time.RFC3339), time.Until(deadline).Round(time.Second))
			logf("checkpoint-all exited with status %d", f.drain(ctx, e, deadline))
		}}
	if *onRebalance {
		w.OnRebalance = func(ctx context.Context, _ spot.Rebalance) {
			logf("running checkpoint-all for the rebalance recommendation (--on-rebalance)")
			logf("checkpoint-all exited with status %d", f.drain(ctx, e, time.Now().Add(f.deadline)))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logf("watching %s every %v (margin %v, on-rebalance %v)", *endpoint, *interval, *margin, *onRebalance)
	w.Run(ctx)
	logf("stopping on a signal")
	return 0
}
