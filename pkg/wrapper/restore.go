package wrapper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/ptyrelay"
	"github.com/arch-ckpt/arch/pkg/realrunc"
	"github.com/arch-ckpt/arch/pkg/state"
)

// tryRestore turns the create into a restore when the workload's key has a
// valid image that fits this container and may be restored again (shared:
// the container has a shared work dir; see archspec.ReuseRefusal). restored is false when the caller
// must run the original create; everything ARCH did for the attempt has
// then been undone.
func (c *call) tryRestore(b *bundle.Bundle, rec *state.Record, key ckpt.Key, shared bool) (code int, restored bool) {
	log := c.logger().With().Str("key", rec.Key).Logger()
	ph := newPhases()
	store, err := c.openStore(rec.Store)
	if err != nil {
		log.Warn().Err(err).Msg("restore: checkpoint store unusable, starting fresh")
		return 0, false
	}
	img, err := store.Current(key)
	if errors.Is(err, ckpt.ErrNoImage) {
		return 0, false
	}
	if err != nil {
		log.Warn().Err(err).Msg("restore: checkpoint image unusable, starting fresh")
		return 0, false
	}
	defer img.Close()
	if nr := c.restoreImage(store, key, img, b, rec, shared, true, ph, &log); nr != nil {
		nr.log(&log, ", starting fresh")
		return 0, false
	}
	log.Info().Strs("argv", c.argvForLog()).Dict("phases", ph.dict()).Msg("create turned into restore")
	return 0, true
}

// notRestored says why restoreImage did not restore an image.
type notRestored struct {
	what   string // what happened, for the log
	reason string // why the image was refused, or
	err    error  // why the restore failed
	// discarded is set for a refusal that removed the image.
	discarded *bool
}

func (n *notRestored) Error() string {
	if n.err != nil {
		return n.what + ": " + n.err.Error()
	}
	return n.what + ": " + n.reason
}

// log writes the warning line of n to log, its message ending with suffix.
func (n *notRestored) log(log *zerolog.Logger, suffix string) {
	e := log.Warn()
	if n.reason != "" {
		e = e.Str("reason", n.reason)
	}
	if n.discarded != nil {
		e = e.Bool("discarded", *n.discarded)
	}
	e.Err(n.err).Msg(n.what + suffix)
}

// restoreImage restores img, the current image of key in store, into this
// container (bundle b, record rec), when it may be restored again (shared:
// see archspec.ReuseRefusal) and fits. skipStart: the caller's next call is
// a `runc start` ARCH answers (a create turned into a restore); a caller's
// own `runc restore` has none. On success the image is marked restored and
// log carries the image; otherwise everything ARCH did for the attempt has
// been undone, and the answer says why.
func (c *call) restoreImage(store *ckpt.Store, key ckpt.Key, img *ckpt.Image, b *bundle.Bundle, rec *state.Record, shared, skipStart bool, ph *phases, log *zerolog.Logger) *notRestored {
	m := img.Manifest
	*log = log.With().Str("image", m.ImageID).Logger()
	if reason, discard := archspec.ReuseRefusal(img.Restored, shared, c.cfg.MaxRestoreAttempts, c.cfg.ReuseRestoredImages); reason != "" {
		if discard {
			if _, err := store.RemoveIfCurrent(key, m.ImageID); err != nil {
				log.Error().Err(err).Msg("restore: cannot discard the image")
			}
		}
		return &notRestored{what: "restore: not restoring this image", reason: reason, discarded: &discard}
	}
	ph.done("open")
	if reason := archspec.ProcessMismatch(m, b); reason != "" {
		return &notRestored{what: "restore: checkpoint image does not fit this container", reason: reason}
	}
	plan, reason := c.planRestore(b, m)
	if reason != "" {
		return &notRestored{what: "restore: checkpoint image does not fit this container", reason: reason}
	}
	ph.done("fit")
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RestoreTimeout)
	defer cancel()
	// The restore counts once the record says so: the poststop hook reads
	// RestoredFrom, and without SkipStart the shim's start after a create
	// would fail.
	recorded := false
	record := func() error {
		rec.RestoredFrom, rec.SkipStart = m.ImageID, skipStart
		recorded = true
		if err := c.records().Save(rec); err != nil {
			return fmt.Errorf("cannot record the restore: %w", err)
		}
		return nil
	}
	// The layers are compared once the image is unpacked: their
	// fingerprint is computed meanwhile (a cached one costs nothing).
	plan.identity = archspec.IdentifyAsync(b, c.layerCache())
	if err := c.restoreFrom(ctx, img, b, &plan, record, ph, log); err != nil {
		if errors.Is(err, realrunc.ErrTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s (restore_timeout): %w", c.cfg.RestoreTimeout, err)
		}
		if recorded {
			rec.RestoredFrom, rec.SkipStart = "", false
			c.records().Save(rec)
		}
		return &notRestored{what: "restore failed", err: err}
	}
	host, _ := os.Hostname()
	if err := store.MarkRestored(key, m.ImageID, ckpt.RestoredInfo{Node: host, ContainerID: c.cmd.ID}); err != nil {
		log.Warn().Err(err).Msg("restore: cannot mark the image restored")
	}
	ph.done("mark")
	return nil
}

// errDoesNotFit marks an image found not to fit the container once the
// restore has started.
var errDoesNotFit = errors.New("checkpoint image does not fit this container")

// consoleWait bounds the wait for the pty master of a restored terminal:
// runc has sent it before it returns, so it is already queued.
const consoleWait = 5 * time.Second

// restoreFrom unpacks the image to local staging and runs runc restore;
// once that succeeded, record makes it count. Anything failing up to and
// including record undoes the restore; the caller's console (a container
// with a terminal) is handed on only after that, so that a fallback create
// finds the caller's console socket unused.
func (c *call) restoreFrom(ctx context.Context, img *ckpt.Image, b *bundle.Bundle, plan *restorePlan, record func() error, ph *phases, log *zerolog.Logger) error {
	if err := os.MkdirAll(c.cfg.StagingDir, 0o700); err != nil {
		return fmt.Errorf("create staging folder: %w", err)
	}
	sweepStaging(c.cfg.StagingDir, log)
	staging, err := newStaging(c.cfg.StagingDir, "restore", c.cmd.ID)
	if err != nil {
		return fmt.Errorf("create staging folder: %w", err)
	}
	// CRIU has read every image file once runc restore returns.
	defer os.RemoveAll(staging)
	if f := c.faultWhenFilled(faultRestoreUnpack, staging); f != nil {
		f()
	}
	if err := img.Unpack(ctx, staging); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	ph.done("unpack")
	if reason := archspec.LayersMismatch(img.Manifest, plan.identity()); reason != "" {
		return fmt.Errorf("%w: %s", errDoesNotFit, reason)
	}
	ph.done("layers")
	// The files go into the new container's rootfs before CRIU opens them
	// (it refuses a file whose size changed); the journal undoes exactly
	// ARCH's own changes if the restore fails.
	journal, err := applyFiles(ctx, img.Manifest, b, staging, log)
	if err != nil {
		return err
	}
	ph.done("files")
	c.fault(faultRestoreApplied)
	restore := c.cmd.Clone()
	restore.Name = "restore"
	restore.Remove("no-new-keyring", "preserve-fds", "pidfd-socket", "image-path", "work-path")
	restore.Set("image-path", filepath.Join(staging, "checkpoint"))
	restore.Set("work-path", filepath.Join(staging, "work"))
	restore.SetBool("detach")
	restore.SetBool("no-subreaper")
	cleanup, err := plan.apply(restore, b, hookRef{c.hookPath(), c.cfg.Path}, log)
	if err != nil {
		journal.rollback(log)
		return err
	}
	defer cleanup()
	callerConsole, _ := c.cmd.Get("console-socket")
	var relay *ptyrelay.Relay
	if callerConsole != "" {
		if relay, err = ptyrelay.Listen(""); err != nil {
			journal.rollback(log)
			return err
		}
		defer relay.Close()
		restore.Set("console-socket", relay.Path)
	}
	argv := restore.Render()
	log.Info().Strs("argv", c.argvForLog()).Strs("rewritten", argv).Msg("restore: running")

	notSubreaper := becomeSubreaper(log)
	defer notSubreaper()
	err = c.rc.Restore(ctx, realrunc.Inherit(), argv, c.faultOnce(faultRestoreRunc))
	var console *ptyrelay.Console
	if err == nil && relay != nil {
		console, err = relay.Receive(consoleWait)
	}
	if err != nil {
		c.keepRestoreLog(staging, log)
	} else {
		err = record()
	}
	if err == nil && console != nil {
		// Only fails when the caller's socket is unusable: the caller
		// cannot get any console then.
		err = console.SendTo(callerConsole)
	}
	if console != nil {
		console.Close()
	}
	if err != nil {
		c.undoRestore(log)
		killOrphans(log)
		journal.rollback(log)
		return fmt.Errorf("runc restore: %w", err)
	}
	ph.done("restore")
	journal.commit(log)
	return nil
}

// undoRestore removes what a failed or abandoned restore left in runc.
func (c *call) undoRestore(log *zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.rc.Delete(ctx, c.cmd.ID, true); err != nil {
		log.Debug().Err(err).Msg("restore: cleanup delete")
	}
}

// keepRestoreLog copies CRIU's restore.log into ARCH's log folder for the
// operator: the staging folder is removed.
func (c *call) keepRestoreLog(staging string, log *zerolog.Logger) {
	src := filepath.Join(staging, "work", "restore.log")
	dst := filepath.Join(filepath.Dir(c.cfg.LogFile), "restore-"+c.cmd.ID+".log")
	if err := linkOrCopy(src, dst); err == nil {
		log.Warn().Str("criu_log", dst).Msg("restore: CRIU log kept")
	}
}
