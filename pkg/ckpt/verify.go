package ckpt

import (
	"context"
	"fmt"
)

// Verify reads the whole archive once and checks it against the manifest:
// the file's size and sha256, every member present in order with the right
// type, size and sha256, no other member, and dump.log ending with CRIU's
// success line. Damage is reported as an error wrapping ErrCorrupt that
// says which member and what, e.g. "member checkpoint/pages-1.img: sha256
// mismatch", "member dump.log missing", "archive truncated: ...".
func (img *Image) Verify(ctx context.Context) error {
	if err := img.read(ctx, nil); err != nil {
		return fmt.Errorf("verify image %s of %s: %w", img.ID(), img.Key, err)
	}
	return nil
}
