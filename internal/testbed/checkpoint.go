package testbed

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CheckpointPrefix starts the name containerd 1.6 gives the image of a
// `ctr task checkpoint ID`: containerd.io/checkpoint/ID:MM-DD-YYYY-hh:mm:ss
// (one per second at most: a second checkpoint in the same second collides).
const CheckpointPrefix = "containerd.io/checkpoint/"

// Media types of containerd checkpoint images.
const (
	mediaCRIUTar        = "application/vnd.containerd.container.criu.checkpoint.criu.tar"
	mediaRuntimeOptions = "application/vnd.containerd.container.checkpoint.runtime.options+proto"
)

// TaskCheckpoint runs `ctr task checkpoint [--exit] ID` (runc pause,
// checkpoint [--leave-running], resume) and returns the image's name.
func (in *Instance) TaskCheckpoint(ns, id string, exit bool) (string, error) {
	var flags []string
	if exit {
		flags = append(flags, "--exit")
	}
	return in.TaskCheckpointFlags(ns, id, flags...)
}

// TaskCheckpointFlags runs `ctr task checkpoint FLAGS... ID`. The shim
// removes its default CRIU work folder (with dump.log) after every dump; a
// failed dump's log is copied to BUNDLE/criu-dump.log, which the test bed
// logs when a test fails. Pass "--work-path", DIR to keep every CRIU log.
func (in *Instance) TaskCheckpointFlags(ns, id string, flags ...string) (string, error) {
	args := append(append([]string{"task", "checkpoint"}, flags...), id)
	out, err := in.Ctr(ns, args...)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, CheckpointPrefix) {
			return line, nil
		}
	}
	return "", fmt.Errorf("ctr task checkpoint %s printed no image name: %q", id, out)
}

// ContainerCheckpoint runs `ctr container checkpoint --task ID REF`: an
// image with the container's spec, runtime options and task that `ctr
// container restore` accepts as it is (the task keeps running). Not --rw:
// ctr 1.6 stores that layer with a media type its own restore --rw does not
// find ("media type not found").
func (in *Instance) ContainerCheckpoint(ns, id, ref string) error {
	_, err := in.Ctr(ns, "container", "checkpoint", "--task", id, ref)
	return err
}

// Restore runs `ctr container restore --live ID REF`: a new container id
// and its task restored from checkpoint image ref (of ContainerCheckpoint).
// ctr 1.6 has no --log-uri here: the task's stdio is ctr's, dropped once
// ctr exits.
func (in *Instance) Restore(ns, id, ref string) error {
	return in.Do(ns, "container", "restore", "--live", id, ref)
}

// CheckpointFiles lists the CRIU image files inside checkpoint image ref
// (the criu.tar blob containerd stored after runc checkpoint returned).
func (in *Instance) CheckpointFiles(ns, ref string) ([]string, error) {
	var names []string
	err := in.readCheckpointTar(ns, ref, func(h *tar.Header, _ io.Reader) error {
		names = append(names, h.Name)
		return nil
	})
	return names, err
}

// CheckpointFile reads file name of the criu.tar blob of checkpoint image
// ref.
func (in *Instance) CheckpointFile(ns, ref, name string) ([]byte, error) {
	var data []byte
	found := false
	err := in.readCheckpointTar(ns, ref, func(h *tar.Header, r io.Reader) error {
		if h.Name != name {
			return nil
		}
		found = true
		var err error
		data, err = io.ReadAll(r)
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("checkpoint %s has no %s", ref, name)
	}
	return data, err
}

// readCheckpointTar calls each for every entry of the criu.tar blob of
// checkpoint image ref.
func (in *Instance) readCheckpointTar(ns, ref string, each func(*tar.Header, io.Reader) error) error {
	index, err := in.imageIndex(ns, ref)
	if err != nil {
		return err
	}
	for _, m := range index.Manifests {
		if m.MediaType != mediaCRIUTar {
			continue
		}
		blob, err := in.CtrOut(ns, "content", "get", m.Digest)
		if err != nil {
			return err
		}
		tr := tar.NewReader(strings.NewReader(blob))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("criu tar of %s: %w", ref, err)
			}
			if err := each(h, tr); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("checkpoint %s has no %s blob", ref, mediaCRIUTar)
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    json.RawMessage   `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociIndex struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Manifests     []ociDescriptor   `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// imageIndex reads the index a checkpoint image points to.
func (in *Instance) imageIndex(ns, ref string) (*ociIndex, error) {
	digest, err := in.imageDigest(ns, ref)
	if err != nil {
		return nil, err
	}
	raw, err := in.CtrOut(ns, "content", "get", digest)
	if err != nil {
		return nil, err
	}
	var index ociIndex
	if err := json.Unmarshal([]byte(raw), &index); err != nil {
		return nil, fmt.Errorf("index of %s: %w", ref, err)
	}
	return &index, nil
}

// imageDigest is the DIGEST column of `ctr image ls` for ref.
func (in *Instance) imageDigest(ns, ref string) (string, error) {
	out, err := in.CtrOut(ns, "image", "ls")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == ref {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("image %s not found in namespace %s", ref, ns)
}
