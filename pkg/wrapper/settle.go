package wrapper

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/state"
)

// settleCheckpoint settles a checkpoint whose wrapper died (OOM kill,
// node trouble, a fault test) after it started, from what runc and the
// store show. Call it under the container's lock; it saves the record.
//
//   - An image of this checkpoint was committed and the container is
//     stopped (or was killed: the kill was recorded): the checkpoint did
//     complete; settled, the image kept for the next create.
//   - An image was committed and the container still lives (containerd
//     resumed it after the failed call): the image is stale, since the
//     container went on from it; removed, so that nothing restores it;
//     failed.
//   - No image of this checkpoint was committed: failed.
//
// A container that lives on is revived first: its dump may have left its
// processes stopped and its network locked.
//
// It reports whether the container is stopped.
func (c *call) settleCheckpoint(rec *state.Record, log *zerolog.Logger) (stopped bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.rc.State(ctx, c.cmd.ID)
	stopped = err != nil || st.Status == "stopped"
	ck := rec.CheckpointInFlight()
	if ck == nil {
		return stopped
	}
	if !stopped {
		// As after a failed checkpoint: its dump may have left it stopped
		// and its network locked; and when ARCH froze it, nobody else will
		// thaw it (a caller's resume goes on to runc after this).
		thaw := ck.Froze && st.Status == "paused" && c.cmd.Name != "resume"
		c.thawAfterFailure(thaw, st.Pid, ck.LeftStopped, log)
	}
	if recPath, err := c.records().Path(rec.Root, rec.ID); err == nil {
		removeCriuConfig(state.CriuConfigFile(recPath), log)
	}
	now := time.Now()
	defer func() {
		if err := c.records().Save(rec); err != nil {
			log.Warn().Err(err).Msg("settle: cannot save the record")
		}
	}()
	store, key, imageID := c.interruptedImage(rec, ck, log)
	switch {
	case ck.State == state.CheckpointKilled:
		// SIGKILL was delivered after the commit: the image stands.
		ck.To(state.CheckpointSettled, now)
		rec.CheckpointedImage = ck.ImageID
		log.Warn().Str("image", ck.ImageID).Msg("interrupted checkpoint: the container was killed after the commit; image kept")
	case imageID == "":
		ck.Fail("interrupted (the wrapper died) before an image was committed", now)
		log.Info().Msg("interrupted checkpoint left no image")
	case stopped:
		ck.ImageID = imageID
		ck.To(state.CheckpointSettled, now)
		rec.CheckpointedImage = imageID
		log.Warn().Str("image", imageID).Msg("interrupted checkpoint: the container stopped after the commit; image kept")
	default:
		removed, err := store.RemoveIfCurrent(key, imageID)
		ck.Fail("interrupted (the wrapper died) after the commit; the container lived on, so its image was stale and removed", now)
		log.Warn().Err(err).Bool("removed", removed).Str("image", imageID).
			Msg("interrupted checkpoint: the container lives on, so its image is stale and removed")
	}
	return stopped
}

// interruptedImage is the image the interrupted checkpoint ck committed,
// if the store's current image is it ("" otherwise), with the store and
// key it is in: made from this container on this node after the
// checkpoint started, and the one the record names if it names one.
func (c *call) interruptedImage(rec *state.Record, ck *state.Checkpoint, log *zerolog.Logger) (*ckpt.Store, ckpt.Key, string) {
	if ck.State == state.CheckpointPending {
		return nil, ckpt.Key{}, "" // nothing was dumped
	}
	store, key, err := c.recordStore(rec)
	if err != nil {
		log.Warn().Err(err).Msg("settle: checkpoint store unusable")
		return nil, ckpt.Key{}, ""
	}
	img, err := store.Current(key)
	if err != nil {
		return nil, ckpt.Key{}, ""
	}
	m := img.Manifest
	img.Close()
	host, _ := os.Hostname()
	ours := m.Source.ContainerID == rec.ID && m.Source.RuncRoot == rec.Root && m.Source.Node == host &&
		!m.CheckpointedAt.Before(ck.Started.Add(-time.Second)) && (ck.ImageID == "" || ck.ImageID == m.ImageID)
	if !ours {
		return nil, ckpt.Key{}, ""
	}
	return store, key, m.ImageID
}
