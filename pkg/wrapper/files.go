package wrapper

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/layer"
)

// captureFiles records the container's writable layer into the staging
// folder (rootfs-diff.tar, deleted.files), after the dump, while the
// container is frozen and its rootfs still mounted. Bind mounts (the
// shared work dir among them) are not captured: their content lives
// elsewhere. A rootfs that is not an overlay is not an error: the image
// then holds process state only, and the manifest says why.
func captureFiles(ctx context.Context, b *bundle.Bundle, staging string, log *zerolog.Logger) (ckpt.Capture, error) {
	ov, err := layer.FindOverlay(b.Rootfs())
	if errors.Is(err, layer.ErrNotOverlay) {
		log.Warn().Err(err).Msg("checkpoint: files of the writable layer not captured, process state only")
		return ckpt.Capture{Files: false, Reason: err.Error()}, nil
	}
	if err != nil {
		return ckpt.Capture{}, err
	}
	stats, err := layer.Capture(ctx, ov, staging, layer.CaptureOptions{Exclude: mountDestinations(b.Spec)})
	if err != nil {
		return ckpt.Capture{}, err
	}
	log.Info().Int("files", stats.Files).Int("dirs", stats.Dirs).Int("deleted", stats.Deleted).
		Int64("bytes", stats.Bytes).Msg("checkpoint: writable layer captured")
	return ckpt.Capture{Files: true}, nil
}

// mountDestinations are the container paths config.json mounts something on.
func mountDestinations(spec *specs.Spec) []string {
	var out []string
	for _, m := range spec.Mounts {
		if filepath.IsAbs(m.Destination) {
			out = append(out, filepath.Clean(m.Destination))
		}
	}
	return out
}

// appliedFiles is the journal of a file apply, or nothing when the image
// carries no files.
type appliedFiles struct{ j *layer.Journal }

// applyFiles puts the image's writable-layer files into the new
// container's rootfs. On error nothing of it is left.
func applyFiles(ctx context.Context, m *ckpt.Manifest, b *bundle.Bundle, staging string, log *zerolog.Logger) (appliedFiles, error) {
	if !m.Capture.Files {
		log.Info().Str("reason", m.Capture.Reason).Msg("restore: the image carries no files, process state only")
		return appliedFiles{}, nil
	}
	j, err := layer.Apply(ctx, b.Rootfs(), staging, layer.ApplyOptions{})
	if err != nil {
		return appliedFiles{}, fmt.Errorf("apply the writable layer: %w", err)
	}
	return appliedFiles{j: j}, nil
}

func (a appliedFiles) rollback(log *zerolog.Logger) {
	if a.j == nil {
		return
	}
	if err := a.j.Rollback(); err != nil {
		log.Error().Err(err).Msg("restore: cannot roll back the applied files")
	}
}

func (a appliedFiles) commit(log *zerolog.Logger) {
	if a.j == nil {
		return
	}
	if err := a.j.Commit(); err != nil {
		log.Warn().Err(err).Msg("restore: cannot drop the file backups")
	}
}
