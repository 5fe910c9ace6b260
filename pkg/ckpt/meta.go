package ckpt

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
)

// Meta describes the checkpointed container. It fills the manifest and the
// archive's config.dump and spec.dump.
type Meta struct {
	Namespace   string // containerd namespace ("default", "k8s.io", "moby")
	ContainerID string // required
	Name        string // container name for config.dump; ContainerID when empty
	Node        string // host name; os.Hostname() when empty
	RuncRoot    string // runc --root of the container

	ImageReference string // e.g. "docker.io/library/busybox:latest"
	RootfsIdentity string // what identifies the rootfs content (image digest, chain ID)

	Args     []string // the container's process args
	Terminal bool     // the container's process has a console
	// Spec is the container's config.json, written verbatim as spec.dump.
	// It must be valid JSON.
	Spec []byte

	CreatedAt      time.Time // container creation; optional
	CheckpointedAt time.Time // when the dump was taken; commit time when zero

	Capture Capture
	Network Network
}

// CommitOptions tune one Commit.
type CommitOptions struct {
	// Compression is "zstd" (the default when empty) or "none".
	Compression string
	// Progress, when set, is called with the number of archive bytes
	// written to the file so far, about once per MiB. It runs on the
	// goroutine that writes the file, not the caller's (never concurrently
	// with itself): it must be quick and synchronise what it shares.
	Progress func(bytesWritten int64)
	// BeforeInstall, when set, is called once the new archive is durable
	// under its final name and before the manifest names it: the last
	// moment at which a crash leaves the previous image current. The
	// fault-injection tests stop there.
	BeforeInstall func()
	// Follow (BeginCommit only) streams CRIU's pages files into the
	// archive while the dump runs.
	Follow bool
}

func (m *Meta) check() error {
	switch {
	case m.ContainerID == "":
		return errors.New("meta: ContainerID missing")
	case !json.Valid(m.Spec):
		return errors.New("meta: Spec is not valid JSON (it becomes spec.dump)")
	}
	return nil
}

// configDumpJSON renders config.dump for meta, checkpointed at t, with
// checkpointctl's own type: CRI-O and containerd write config.dump from it
// and checkpointctl reads it back, so the file cannot drift from what they
// expect. A zero RestoredAt is written as they write it.
func configDumpJSON(meta *Meta, t time.Time) ([]byte, error) {
	name := meta.Name
	if name == "" {
		name = meta.ContainerID
	}
	data, err := json.MarshalIndent(metadata.ContainerConfig{
		ID:              meta.ContainerID,
		Name:            name,
		RootfsImage:     meta.ImageReference,
		RootfsImageRef:  meta.RootfsIdentity,
		RootfsImageName: meta.ImageReference,
		OCIRuntime:      "runc",
		CreatedTime:     meta.CreatedAt.UTC(),
		CheckpointedAt:  t.UTC(),
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config.dump: %w", err)
	}
	return data, nil
}
