package drain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// Checkpoint checkpoints one container through containerd with exit
// semantics (runc options Exit, and an ImagePath so that containerd keeps
// nothing in its content store: containerd 1.6 fails a second checkpoint
// of a container whose spec blob is already there). arch-wrapper commits
// the image to the store and stops the container; containerd sees the
// task exit. The archive's growth is reported through progress. On success
// the store must hold a new complete image for the key.
func (c *Containerd) Checkpoint(ctx context.Context, t Target, progress func(int64)) (Image, error) {
	store, err := archspec.OpenStore(c.Allowed, t.Store)
	if err != nil {
		return Image{}, fmt.Errorf("store: %w", err)
	}
	store.SignWith(c.Signer)
	key, err := ckpt.ParseKey(t.Key)
	if err != nil {
		return Image{}, fmt.Errorf("key: %w", err)
	}
	prev := currentImageID(store, key)
	nctx := namespaces.WithNamespace(ctx, t.Namespace)
	ctr, err := c.client.LoadContainer(nctx, t.ID)
	if err != nil {
		return Image{}, fmt.Errorf("load container: %w", err)
	}
	task, err := ctr.Task(nctx, nil)
	if err != nil {
		return Image{}, fmt.Errorf("load task: %w", err)
	}
	if err := os.MkdirAll(c.StagingDir, 0o700); err != nil {
		return Image{}, fmt.Errorf("staging folder: %w", err)
	}
	dir, err := os.MkdirTemp(c.StagingDir, "checkpoint-all-"+t.ID[:min(len(t.ID), 64)]+"-")
	if err != nil {
		return Image{}, fmt.Errorf("staging folder: %w", err)
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		nctx, cancel = context.WithTimeout(nctx, c.Timeout)
		defer cancel()
	}
	stop := watchIncoming(func() map[string]int64 { return store.IncomingSizes(key) }, c.PollEvery, progress)
	_, err = task.Checkpoint(nctx, withExitTo(dir))
	stop()
	if err != nil {
		os.RemoveAll(dir)
		return afterError(namespaces.WithNamespace(ctx, t.Namespace), task, store, key, prev, err)
	}
	img, err := newImage(store, key, prev)
	if err != nil {
		// The container may be gone with its dump only here (arch-wrapper
		// handed the checkpoint to plain runc): keep it.
		return Image{}, fmt.Errorf("%w; containerd's own dump is kept in %s", err, dir)
	}
	os.RemoveAll(dir)
	return img, nil
}

// afterError tells what a failed containerd checkpoint left: a container
// still running or paused failed to checkpoint (arch-wrapper thawed it); one
// that is gone with a new image in the store was checkpointed (containerd's
// error came after the commit and the stop); one gone without a new image
// ended on its own meanwhile (ErrGone).
func afterError(ctx context.Context, task containerd.Task, store *ckpt.Store, key ckpt.Key, prev string, err error) (Image, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, serr := task.Status(sctx)
	if serr == nil && (st.Status == containerd.Running || st.Status == containerd.Paused) {
		return Image{}, fmt.Errorf("containerd checkpoint: %w (%w)", err, ErrStillRunning)
	}
	if serr != nil && !errdefs.IsNotFound(serr) {
		return Image{}, fmt.Errorf("containerd checkpoint: %w", err)
	}
	if img, ierr := newImage(store, key, prev); ierr == nil {
		return img, nil
	}
	return Image{}, fmt.Errorf("%w (%v)", ErrGone, err)
}

// withExitTo sets the runc checkpoint options: exit, dump into dir.
func withExitTo(dir string) containerd.CheckpointTaskOpts {
	return func(r *containerd.CheckpointTaskInfo) error {
		r.Options = &options.CheckpointOptions{Exit: true, ImagePath: dir}
		return nil
	}
}

// currentImageID is the key's current image ("" when it has none or it is unreadable).
func currentImageID(store *ckpt.Store, key ckpt.Key) string {
	img, err := store.Current(key)
	if err != nil {
		return ""
	}
	defer img.Close()
	return img.ID()
}

// newImage returns the key's current image, which must not be prev.
func newImage(store *ckpt.Store, key ckpt.Key, prev string) (Image, error) {
	img, err := store.Current(key)
	if errors.Is(err, ckpt.ErrNoImage) {
		return Image{}, fmt.Errorf("containerd reported success, but the store %s has no image for key %s", store.Root(), key)
	}
	if err != nil {
		return Image{}, fmt.Errorf("containerd reported success, but the store's image is unusable: %w", err)
	}
	defer img.Close()
	if img.ID() == prev {
		return Image{}, fmt.Errorf("containerd reported success, but the store %s has no new image for key %s (still %s)", store.Root(), key, prev)
	}
	// Complete: the archive the manifest names has the size it records
	// (reading it all, as Verify does, would cost the drain's time).
	want := img.Manifest.Archive.Size
	if size, err := img.ArchiveSize(); err != nil || size != want {
		return Image{}, fmt.Errorf("image %s of key %s is incomplete: archive %s is not %d bytes (%v)", img.ID(), key, img.ArchivePath(), want, err)
	}
	return Image{ID: img.ID(), Size: want}, nil
}
