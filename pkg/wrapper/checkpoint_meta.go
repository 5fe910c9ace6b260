package wrapper

import (
	"os"
	"path/filepath"
	"time"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// checkpointMeta describes the container for the manifest and config.dump.
func (c *call) checkpointMeta(rec *bundle.Record, b *bundle.Bundle) ckpt.Meta {
	ident := archspec.Identify(b)
	if ident.Note != "" {
		c.logger().Info().Str("reason", ident.Note).Msg("checkpoint: image layers not fingerprinted")
	}
	var args []string
	terminal := false
	if b.Spec.Process != nil {
		args, terminal = b.Spec.Process.Args, b.Spec.Process.Terminal
	}
	host, _ := os.Hostname()
	created := rec.CreatedAt
	if st, err := os.Stat(filepath.Join(b.Dir, bundle.ConfigName)); err == nil && created.IsZero() {
		created = st.ModTime()
	}
	return ckpt.Meta{
		ContainerID:    c.cmd.ID,
		Namespace:      rec.Namespace,
		Node:           host,
		RuncRoot:       rec.Root,
		ImageReference: ident.Reference,
		RootfsIdentity: ident.Rootfs,
		Args:           args,
		Terminal:       terminal,
		CreatedAt:      created,
		CheckpointedAt: time.Now().UTC(),
		Spec:           b.Raw,
	}
}
