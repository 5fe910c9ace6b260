package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/realrunc"
	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/state"
)

// checkpoint handles `runc checkpoint` of an enabled container:
//
//  1. freeze it (containerd already paused it; otherwise ARCH pauses it),
//  2. dump it with --leave-running into a local staging folder, so that it
//     stays frozen: nothing runs between the dump and the stop (and, where
//     it can, with its tasks left stopped: see criuconf.go),
//  3. commit the dump (and the writable layer) to the store as one archive,
//     and give the caller's --image-path the same dump,
//  4. only then kill it; if anything before fails, it is revived, thawed
//     (or left paused for the caller that paused it) and keeps running.
func (c *call) checkpoint() (int, bool) {
	ctr := c.container()
	if !ctr.Enabled() {
		return 0, false
	}
	// The container is ARCH's (it has a record): whatever ARCH cannot serve
	// is refused, and the container keeps running. A plain runc checkpoint
	// would stop it (exit semantics) with its dump nowhere ARCH finds it.
	refuse := func(why string, err error) (int, bool) {
		c.failCheckpoint("arch-wrapper: checkpoint refused: "+why+"; the container keeps running", err)
		return exitArchError, true
	}
	if ctr.Err != nil {
		return refuse("its ARCH record is unreadable ("+ctr.Err.Error()+")", ctr.Err)
	}
	if err := c.startsNothingNew(); err != nil {
		return refuse("the ARCH configuration has errors ("+err.Error()+")", err)
	}
	if why := unservedCheckpointFlags(c.cmd); why != "" {
		return refuse(why, nil)
	}
	held, err := c.lockRecord()
	if err != nil {
		return refuse("cannot lock its ARCH record ("+err.Error()+")", err)
	}
	defer held.Release()
	if ctr = c.relook(); ctr.Record == nil {
		return refuse(fmt.Sprintf("its ARCH record is %s (%v)", ctr.Phase(), ctr.Err), ctr.Err)
	}
	rec := ctr.Record
	records := c.records()
	log := c.logger().With().Str("key", rec.Key).Logger()
	if rec.CheckpointInFlight() != nil {
		c.settleCheckpoint(rec, &log)
	}
	sweepStaging(c.cfg.StagingDir, &log)

	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CheckpointTimeout)
	defer cancel()
	ph := newPhases()
	st, err := c.rc.State(ctx, c.cmd.ID)
	if err != nil || (st.Status != "running" && st.Status != "paused") {
		// runc gives the caller its own answer ("container not running", ...).
		log.Info().Err(err).Msg("checkpoint: container not running; passing to runc")
		return 0, false
	}
	b, err := bundle.Load(rec.Bundle)
	if err != nil {
		c.failCheckpoint("arch-wrapper: checkpoint failed, the container keeps running: "+err.Error(), err)
		return exitArchError, true
	}
	plan := c.planDump(b, &log)
	weFroze := false
	if st.Status == "running" {
		if err := c.freeze(ctx); err != nil {
			c.failCheckpoint("arch-wrapper: checkpoint: cannot freeze the container: "+err.Error(), err)
			return exitArchError, true
		}
		weFroze = true
	}
	ph.done("freeze")
	c.fault(faultCheckpointFrozen)
	ck, err := rec.BeginCheckpoint(time.Now(), plan.leftStopped, weFroze)
	if err == nil {
		// The steps until the end are interim saves (state.SaveInterim).
		err = records.SaveInterim(rec)
	}
	if err != nil {
		c.thawAfterFailure(weFroze, st.Pid, plan.leftStopped, &log)
		c.failCheckpoint("arch-wrapper: checkpoint: cannot record its start: "+err.Error(), err)
		return exitArchError, true
	}
	// failed ends the checkpoint: the container is put back, the reason
	// recorded and reported.
	failed := func(msg string, err error) (int, bool) {
		c.thawAfterFailure(weFroze, st.Pid, ck.LeftStopped, &log)
		ck.Fail(msg, time.Now())
		records.Save(rec)
		c.failCheckpoint(msg, err)
		return exitArchError, true
	}
	manifest, err := c.dumpAndCommit(ctx, rec, b, st.Pid, &plan, ph, &log)
	if err != nil {
		if errors.Is(err, realrunc.ErrTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s (checkpoint_timeout): %w", c.cfg.CheckpointTimeout, err)
		}
		return failed("arch-wrapper: checkpoint failed, the container keeps running: "+err.Error(), err)
	}
	c.fault(faultCheckpointCommitted)
	if err := c.killFrozen(st.Pid, ph); err != nil {
		// The kill never reached the container: it lives on past its
		// image, which is stale.
		c.discardImage(rec, manifest.ImageID, &log)
		return failed("arch-wrapper: checkpoint failed: the container could not be stopped after the commit ("+err.Error()+"); image discarded, the container keeps running", err)
	}
	ck.To(state.CheckpointKilled, time.Now())
	if err := records.SaveInterim(rec); err != nil {
		log.Warn().Err(err).Msg("checkpoint: cannot record the kill")
	}
	if err := c.waitGone(st.Pid, &log); err != nil {
		// SIGKILL was delivered: the container ends, whenever its last
		// process lets it (D state on a network file system). Its image
		// is its last state: kept.
		log.Warn().Err(err).Str("image", manifest.ImageID).Msg("checkpoint: container stopped, image kept; its process is still exiting")
	}
	ph.done("gone")
	c.fault(faultCheckpointStopped)
	ck.To(state.CheckpointSettled, time.Now())
	rec.CheckpointedImage = manifest.ImageID
	rec.SkipResume = true
	if err := records.Save(rec); err != nil {
		log.Warn().Err(err).Msg("checkpoint: cannot record the checkpoint; the poststop hook may remove a restored image")
	}
	log.Info().Strs("argv", c.argvForLog()).Str("image", manifest.ImageID).
		Int64("bytes", manifest.Archive.Size).Dict("phases", ph.dict()).Msg("checkpoint committed, container stopped")
	return 0, true
}

// unservedCheckpointFlags says why ARCH cannot serve a checkpoint asked
// with these flags ("" when it can): a lazy or page-server dump leaves the
// memory elsewhere than the image ARCH commits (and would block until the
// timeout, waiting for a page client), and a pre-dump is not a final
// image (its log ends with "Pre-dumping finished", which no commit takes).
func unservedCheckpointFlags(cmd *runccmd.Command) string {
	for _, f := range []string{"lazy-pages", "page-server", "pre-dump"} {
		if _, set := cmd.Get(f); set {
			return "ARCH does not serve --" + f + " for an enabled container"
		}
	}
	return ""
}

// failCheckpoint reports a failed checkpoint. Besides runc's --log and
// ARCH's log, the message goes to stderr, as runc itself does: for
// `checkpoint`, go-runc captures stdout and stderr into the error that
// containerd returns to ctr, Docker and the kubelet (it does not read the
// --log file there), and these streams are never a container's.
func (c *call) failCheckpoint(msg string, err error) {
	c.fail(msg, err)
	fmt.Fprintln(os.Stderr, msg)
	c.noteInDumpLog(msg)
}

// noteInDumpLog appends ARCH's reason to the dump.log in the caller's
// --work-path: containerd points the user at that log ("path=
// .../criu-dump.log") whatever failed, and it would otherwise read as if
// CRIU had.
func (c *call) noteInDumpLog(msg string) {
	work, ok := c.cmd.Get("work-path")
	if !ok || work == "" {
		return
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(work, "dump.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "\n%s %s\n", time.Now().UTC().Format(time.RFC3339), msg)
}

// dumpAndCommit runs the CRIU dump through runc and commits it.
func (c *call) dumpAndCommit(ctx context.Context, rec *state.Record, b *bundle.Bundle, pid int, plan *dumpPlan, ph *phases, log *zerolog.Logger) (*ckpt.Manifest, error) {
	// The image's fingerprint is computed beside the dump (the layers do
	// not change); a cached one costs nothing.
	identity := archspec.IdentifyAsync(b, c.layerCache())
	// Where the image goes, and its signing key: refused before the dump.
	store, key, err := c.recordStore(rec)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.cfg.StagingDir, 0o700); err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	staging, err := newStaging(c.cfg.StagingDir, "dump", c.cmd.ID)
	if err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	defer os.RemoveAll(staging)
	// The archive is begun before the dump: it takes CRIU's pages files
	// while CRIU writes them (pkg/ckpt's follower), so that the store is
	// written during the dump rather than after it.
	var progress func(int64)
	if f := c.faultOnce(faultCheckpointArchive); f != nil {
		progress = func(int64) { f() }
	}
	commitOpts := ckpt.CommitOptions{
		Compression: c.cfg.Compression, Progress: progress, BeforeInstall: c.faultOnce(faultCheckpointArchived), Follow: true,
	}
	incoming, err := store.BeginCommit(ctx, key, staging, commitOpts)
	if err != nil {
		return nil, fmt.Errorf("commit to %s: %w", rec.Store, err)
	}
	defer func() { incoming.Abort() }() // nothing once committed
	dump := c.cmd.Clone()
	dump.Remove("image-path", "work-path", "leave-running")
	dump.Set("image-path", filepath.Join(staging, "checkpoint"))
	dump.Set("work-path", filepath.Join(staging, "work"))
	dump.SetBool("leave-running")
	plan.settleTCP(pid)
	defer plan.apply(dump, log)()
	ck := rec.Checkpoint
	if !plan.leftStopped && ck.LeftStopped {
		ck.LeftStopped = false
		c.records().SaveInterim(rec)
	}
	log.Info().Strs("argv", c.argvForLog()).Strs("rewritten", dump.Render()).Strs("criu_config", plan.lines).Msg("checkpoint: dumping")
	stdio, err := c.stdioWithStatusFd()
	if err != nil {
		return nil, err
	}
	defer closeFiles(stdio.ExtraFiles)
	// dump carries the caller's global flags already.
	for attempt := 1; ; attempt++ {
		err = c.rc.Checkpoint(ctx, stdio, dump.Render(), c.faultWhenFilled(faultCheckpointDump, filepath.Join(staging, "checkpoint")))
		c.adoptContainerDumpLog(b, staging, log)
		if err == nil || attempt == maxDumpAttempts || ctx.Err() != nil || !seizeFailed(staging) || !c.stillFrozen(ctx) {
			break
		}
		log.Warn().Err(err).Int("attempt", attempt).Msg("checkpoint: CRIU could not seize every task in time (one was exiting or between fork and exec on a loaded machine); the container is as it was, dumping again")
		incoming.Abort()
		if err := clearDump(staging); err != nil {
			return nil, err
		}
		if incoming, err = store.BeginCommit(ctx, key, staging, commitOpts); err != nil {
			return nil, fmt.Errorf("commit to %s: %w", rec.Store, err)
		}
	}
	c.copyDumpLog(staging)
	if err != nil {
		return nil, fmt.Errorf("CRIU dump: %w", err)
	}
	ph.done("dump")
	if err := ck.To(state.CheckpointDumped, time.Now()); err != nil {
		return nil, err
	}
	if err := c.records().SaveInterim(rec); err != nil {
		return nil, fmt.Errorf("record the dump: %w", err)
	}
	if err := arrangeStaging(staging); err != nil {
		return nil, err
	}
	capture, err := captureFiles(ctx, b, staging, log)
	if err != nil {
		return nil, fmt.Errorf("capture the writable layer: %w", err)
	}
	ph.done("files")
	meta := c.checkpointMeta(rec, b, identity())
	meta.Capture = capture
	meta.Network = ckpt.Network{TCP: plan.tcp}
	ph.done("meta")
	manifest, err := incoming.Commit(ctx, meta)
	if err != nil {
		return nil, fmt.Errorf("commit to %s: %w", rec.Store, err)
	}
	ph.done("commit")
	ph.archive = &incoming.Stats
	if err := ck.Commit(manifest.ImageID, time.Now()); err != nil {
		return nil, err
	}
	if err := c.records().SaveInterim(rec); err != nil {
		log.Warn().Err(err).Msg("checkpoint: cannot record the committed image")
	}
	if err := c.fillCallerImagePath(staging, rec, manifest); err != nil {
		log.Warn().Err(err).Msg("checkpoint: cannot fill the caller's --image-path")
	}
	ph.done("link")
	return manifest, nil
}

// arrangeStaging moves runc's output into the archive layout: dump.log and
// stats-dump at the top (CRIU writes stats-dump into its work folder when it
// has one, as runc gives it; into the image folder otherwise), CRIU's image
// files under checkpoint/.
func arrangeStaging(staging string) error {
	moves := [][2]string{
		{filepath.Join(staging, "work", "dump.log"), filepath.Join(staging, "dump.log")},
		{filepath.Join(staging, "work", "stats-dump"), filepath.Join(staging, "stats-dump")},
		{filepath.Join(staging, "checkpoint", "stats-dump"), filepath.Join(staging, "stats-dump")},
	}
	for _, m := range moves {
		if err := os.Rename(m[0], m[1]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("arrange staging: %w", err)
		}
	}
	return os.RemoveAll(filepath.Join(staging, "work"))
}

// discardImage removes an image this checkpoint committed but must not keep.
func (c *call) discardImage(rec *state.Record, imageID string, log *zerolog.Logger) {
	store, key, err := c.recordStore(rec)
	if err == nil {
		_, err = store.RemoveIfCurrent(key, imageID)
	}
	if err != nil {
		log.Error().Err(err).Str("image", imageID).Msg("checkpoint: cannot discard the image")
	}
}

// thawAfterFailure puts the container back the way the caller left it:
// revived (pkg/netlock, SIGCONT) and thawed, or left paused for the caller
// that paused it and will resume it.
func (c *call) thawAfterFailure(weFroze bool, pid int, leftStopped bool, log *zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.revive(ctx, pid, leftStopped, log)
	if !weFroze {
		return
	}
	if err := c.rc.Resume(ctx, c.cmd.ID); err != nil {
		log.Error().Err(err).Msg("checkpoint: cannot thaw the container after a failed checkpoint")
	}
}

// killFrozen kills the still-frozen container: `runc kill --all` freezes
// the container, signals every process and thaws it, so the SIGKILL lands
// before any of its code runs again. An error means the kill did not
// reach the container.
func (c *call) killFrozen(pid int, ph *phases) error {
	ctx, cancel := context.WithTimeout(context.Background(), exitWait)
	defer cancel()
	c.initStart = procStartTime(pid)
	if err := c.rc.Kill(ctx, c.cmd.ID, "KILL", true); err != nil {
		if err2 := c.rc.Kill(ctx, c.cmd.ID, "KILL", false); err2 != nil {
			return fmt.Errorf("kill: %w", err2)
		}
	}
	ph.done("kill")
	return nil
}

// waitGone waits until the killed container's init process (pid, from
// runc state) is gone; should the container still be frozen after the kill
// (a runc that does not thaw), ARCH thaws it. An error wrapping
// errStillExiting means the process has not exited within exitWait.
func (c *call) waitGone(pid int, log *zerolog.Logger) error {
	wait, linger := exitWait, c.faultArmed(faultCheckpointLinger)
	if linger {
		wait = faultLingerWait
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	thawAt := time.Now().Add(thawAfter)
	for {
		if exited(pid, c.initStart) && !linger {
			return nil
		}
		if !thawAt.IsZero() && time.Now().After(thawAt) {
			if err := c.rc.Resume(ctx, c.cmd.ID); err != nil {
				log.Debug().Err(err).Msg("checkpoint: thaw after kill")
			}
			thawAt = time.Time{}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: container init %d still alive %s after SIGKILL", errStillExiting, pid, wait)
		case <-time.After(time.Millisecond):
		}
	}
}

// exitWait bounds the wait for a killed container's init to exit.
var exitWait = 30 * time.Second

// errStillExiting: SIGKILL was delivered, and the container's init has not
// exited yet (a process in D state, on NFS or EFS): it will, and the
// checkpoint stands.
var errStillExiting = errors.New("SIGKILL delivered, process still exiting")

// thawAfter is how long a killed container may take to exit before ARCH
// thaws it itself: a killed process normally exits in well under a
// millisecond once thawed.
const thawAfter = 100 * time.Millisecond

// exited reports whether process pid (started at start, in clock ticks
// since boot) is gone or a zombie waiting for the shim to reap it. It reads
// /proc rather than running runc state: the stop is on the checkpoint's
// critical path.
func exited(pid int, start string) bool {
	state, st := procStat(pid)
	return state == 0 || state == 'Z' || state == 'X' || st != start
}

func procStartTime(pid int) string {
	_, st := procStat(pid)
	return st
}

// procStat returns the state letter and the start time field of
// /proc/pid/stat (0, "" when the process does not exist).
func procStat(pid int) (byte, string) {
	if pid <= 0 {
		return 0, ""
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	// Fields after the command name, which ends with the last ')': state is
	// the first (field 3), starttime the 20th after it (field 22).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return 0, ""
	}
	return f[0][0], f[19]
}
