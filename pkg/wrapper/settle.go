package wrapper

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/state"
)

// settleCheckpoint finishes the bookkeeping of a checkpoint whose wrapper
// died (OOM kill, node trouble, a fault test) after it started. Call it
// under the container's lock; it saves the record when it changes it.
//
//   - No image of this container was committed: nothing to do.
//   - An image was committed and the container still lives (containerd
//     resumed it after the failed call): the image is stale, since the
//     container went on from it; remove it, so that nothing restores it.
//   - An image was committed and the container is stopped: the checkpoint
//     did complete; keep the image for the next create.
//
// A container that lives on is revived first: its dump may have left its
// processes stopped and its network locked.
//
// It reports whether the container is stopped.
func (c *call) settleCheckpoint(rec *state.Record, log *zerolog.Logger) (stopped bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.runner().State(ctx, c.cmd.ID)
	stopped = err != nil || st.Status == "stopped"
	inf := rec.Checkpointing
	if inf == nil {
		return stopped
	}
	rec.Checkpointing = nil
	if !stopped {
		// As after a failed checkpoint: its dump may have left it stopped
		// and its network locked; and when ARCH froze it, nobody else will
		// thaw it (a caller's resume goes on to runc after this).
		thaw := inf.Froze && st.Status == "paused" && c.cmd.Name != "resume"
		c.thawAfterFailure(c.runner(), thaw, st.Pid, inf.LeftStopped, log)
	}
	if recPath, err := c.records().Path(rec.Root, rec.ID); err == nil {
		removeCriuConfig(state.CriuConfigFile(recPath), log)
	}
	defer func() {
		if err := c.records().Save(rec); err != nil {
			log.Warn().Err(err).Msg("settle: cannot save the record")
		}
	}()
	store, err := c.openStore(rec.Store)
	if err != nil {
		return stopped
	}
	key, err := ckpt.ParseKey(rec.Key)
	if err != nil {
		return stopped
	}
	img, err := store.Current(key)
	if err != nil {
		log.Info().Err(err).Msg("interrupted checkpoint left no image")
		return stopped
	}
	m := img.Manifest
	img.Close()
	host, _ := os.Hostname()
	ours := m.Source.ContainerID == rec.ID && m.Source.RuncRoot == rec.Root && m.Source.Node == host &&
		!m.CheckpointedAt.Before(inf.Started.Add(-time.Second)) && (inf.ImageID == "" || inf.ImageID == m.ImageID)
	switch {
	case !ours:
		log.Info().Msg("interrupted checkpoint left no image")
	case stopped:
		rec.CheckpointedImage = m.ImageID
		log.Warn().Str("image", m.ImageID).Msg("interrupted checkpoint: the container stopped after the commit; image kept")
	default:
		removed, err := store.RemoveIfCurrent(key, m.ImageID)
		log.Warn().Err(err).Bool("removed", removed).Str("image", m.ImageID).
			Msg("interrupted checkpoint: the container lives on, so its image is stale and removed")
	}
	return stopped
}
