package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/realrunc"
)

// runc's cgroup freezer gives up when the container's tasks do not reach
// FROZEN in its window ("unable to freeze"): on a loaded machine, with
// fsyncs stalling the workload, that is not rare. runc thaws the container
// again, so a failed attempt leaves it running as it was; another attempt
// a moment later usually succeeds. ARCH retries, with a growing pause,
// until the checkpoint's deadline: in a spot drain a container whose
// freeze failed once would otherwise lose its progress.

// freezeBackoff bounds the pause between two freeze attempts.
const (
	freezeBackoffMin = 50 * time.Millisecond
	freezeBackoffMax = 2 * time.Second
)

// errFreezeFailed is the marker of a pause that runc gave up on.
var errFreezeFailed = errors.New("unable to freeze")

// pauseRetrying runs `runc pause` until it succeeds, fails for another
// reason than the freezer's, or ctx ends. Each attempt's output goes to
// the attempt's own buffer; the last attempt's is copied to out (the
// caller's stderr, for a caller's pause), and every failed one is logged.
// The freeze locks must be held.
func (c *call) pauseRetrying(ctx context.Context, out io.Writer) error {
	pause := freezeBackoffMin
	for attempt := 1; ; attempt++ {
		var buf bytes.Buffer
		err := c.pauseOnce(ctx, &buf, attempt)
		if err == nil || !freezeFailed(err, buf.String()) || ctx.Err() != nil {
			if out != nil {
				out.Write(buf.Bytes())
			}
			if err != nil && freezeFailed(err, buf.String()) {
				err = fmt.Errorf("%w after %d attempts: %w", errFreezeFailed, attempt, err)
			}
			return err
		}
		c.logger().Warn().Int("attempt", attempt).Str("runc", strings.TrimSpace(lastLine(buf.String()))).
			Dur("retry_in", pause).Msg("pause: runc could not freeze the container; it runs on, trying again")
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			if out != nil {
				out.Write(buf.Bytes())
			}
			return fmt.Errorf("%w after %d attempts: %w", errFreezeFailed, attempt, err)
		case <-t.C:
		}
		pause = min(2*pause, freezeBackoffMax)
	}
}

// pauseOnce is one `runc pause` (or, in a test build, an injected freeze
// failure).
func (c *call) pauseOnce(ctx context.Context, out io.Writer, attempt int) error {
	if err := c.injectedFreezeFailure(attempt, out); err != nil {
		return err
	}
	return c.rc.Pause(ctx, c.cmd.ID, out)
}

// freezeFailed reports whether a pause failed in runc's freezer (its
// message, on stderr and in --log, says "unable to freeze").
func freezeFailed(err error, output string) bool {
	var ee *realrunc.ExitError
	return errors.As(err, &ee) && strings.Contains(output, "unable to freeze")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// runcPause is the caller's `runc pause` of an enabled container, under
// the freeze locks, retried like ARCH's own (runc runs as a child for it,
// not in the wrapper's place). Its exit status and output are runc's last
// attempt's.
func (c *call) runcPause(ctx context.Context) int {
	err := c.pauseRetrying(ctx, os.Stderr)
	if err != nil {
		c.logger().Warn().Err(err).Strs("argv", c.argvForLog()).Msg("pause failed")
	}
	return exitCode(err)
}
