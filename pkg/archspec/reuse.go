package archspec

import (
	"fmt"
	"time"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// ReuseRefusal says why an image that was restored before must not be
// restored again ("" when it may), and whether it is to be discarded:
//   - in shared-filesystem mode, the container restored from it ran and
//     stopped without a new checkpoint, so its work dir (not in the image)
//     has moved on past the image: a process whose memory is older than
//     its files would run (unless reuse, reuse_restored_images);
//   - it has been restored maxAttempts times already, and the workload
//     still did not finish: it starts fresh, and the image goes.
func ReuseRefusal(r *ckpt.RestoredInfo, sharedWorkDir bool, maxAttempts int, reuse bool) (reason string, discard bool) {
	if r == nil {
		return "", false
	}
	last := fmt.Sprintf("last on %s at %s", r.Node, r.RestoredAt.Format(time.RFC3339))
	if r.LastExit != nil {
		last += fmt.Sprintf(", which exited with status %d", *r.LastExit)
	}
	switch {
	case sharedWorkDir && !reuse:
		return fmt.Sprintf("the image was restored before (%s) and the container's shared work dir has moved on since (reuse_restored_images = true restores it anyway)", last), false
	case max(r.Attempts, 1) >= maxAttempts:
		return fmt.Sprintf("the image was restored %d times already (max_restore_attempts = %d; %s): the workload starts fresh and the image is discarded", max(r.Attempts, 1), maxAttempts, last), true
	}
	return "", false
}
