package wrapper

import (
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/layer"
	"github.com/arch-ckpt/arch/pkg/specpatch"
	"github.com/arch-ckpt/arch/pkg/state"
)

// checkpointMeta describes the container for the manifest and config.dump.
func (c *call) checkpointMeta(rec *state.Record, b *bundle.Bundle, ident archspec.Identity) ckpt.Meta {
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
	name := containerName(b, c.cmd.ID)
	return ckpt.Meta{
		ContainerID:    c.cmd.ID,
		Name:           name,
		Namespace:      rec.Namespace,
		Node:           host,
		RuncRoot:       rec.Root,
		ImageReference: ident.Reference,
		RootfsIdentity: ident.Rootfs,
		Args:           args,
		Terminal:       terminal,
		CreatedAt:      created,
		CheckpointedAt: time.Now().UTC(),
		Spec:           specDump(b.Raw, name, c.logger()),
	}
}

// containerName is the name the container is known by: its Kubernetes
// container name when the CRI plugin set one, else its id.
func containerName(b *bundle.Bundle, id string) string {
	if n := b.Spec.Annotations[bundle.AnnotationContainerName]; n != "" {
		return n
	}
	return id
}

// specDump is the archive's spec.dump: the container's config.json, with
// the annotation that names the container for checkpointctl (its
// containerd view shows io.kubernetes.cri.container-name as CONTAINER) when
// the container has none. Only the archive's copy changes.
func specDump(raw []byte, name string, log *zerolog.Logger) []byte {
	d, err := specpatch.Parse(raw)
	if err == nil {
		if _, err = d.AddAnnotation(bundle.AnnotationContainerName, name); err == nil {
			var out []byte
			if out, err = d.Bytes(); err == nil {
				return out
			}
		}
	}
	log.Debug().Err(err).Msg("checkpoint: spec.dump is config.json as it is")
	return raw
}

// layerCache keeps the digests of the node's image layers (see
// layer.DigestCache) in state_dir.
func (c *call) layerCache() *layer.DigestCache {
	return layer.StateCache(c.cfg.StateDir)
}
