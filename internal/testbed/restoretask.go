package testbed

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// RestoreTaskCheckpoint restores a `ctr task checkpoint` image as a new
// container id, which no ctr 1.6 command does by itself: `ctr container
// restore` reads the image name, runtime and snapshotter from the index's
// annotations (org.opencontainers.image.ref.name,
// io.containerd.checkpoint.runtime, io.containerd.checkpoint.snapshotter)
// and a task checkpoint only has "image.name" ("image name not found in
// index"); `ctr run` and `ctr task start` have no --checkpoint in 1.6.
//
// So the image is exported, those annotations and runtime options (this
// instance's runc root and runcBinary, "" for runc) are added to its index,
// it is imported back (--no-unpack) as ckRef+"-restorable", and
// `ctr container restore --live --rw` restores it.
func (in *Instance) RestoreTaskCheckpoint(ns, id, ckRef, runcBinary string) error {
	fixed := ckRef + "-restorable"
	dir, err := os.MkdirTemp(in.Dir, "ckpt-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exported := filepath.Join(dir, "exported.tar")
	if _, err := in.Ctr(ns, "image", "export", "--skip-manifest-json", exported, ckRef); err != nil {
		return err
	}
	patched := filepath.Join(dir, "patched.tar")
	if err := patchCheckpointLayout(exported, patched, fixed, runcOptions(runcBinary, in.RuncRoot)); err != nil {
		return fmt.Errorf("patching %s: %w", ckRef, err)
	}
	if _, err := in.Ctr(ns, "image", "import", "--no-unpack", patched); err != nil {
		return err
	}
	// --rw: the task checkpoint holds the container's file changes as a
	// gzip layer (files the process has open must exist for CRIU).
	return in.Do(ns, "container", "restore", "--live", "--rw", id, fixed)
}

// patchCheckpointLayout rewrites the OCI layout tar src of a task
// checkpoint into dst, named name, with what `ctr container restore` needs.
func patchCheckpointLayout(src, dst, name string, runtimeOptions []byte) error {
	blobs, order, err := readTar(src)
	if err != nil {
		return err
	}
	var top ociIndex
	if err := json.Unmarshal(blobs["index.json"], &top); err != nil || len(top.Manifests) != 1 {
		return fmt.Errorf("index.json: want one manifest (%v)", err)
	}
	ckPath := blobPathOf(top.Manifests[0].Digest)
	var ck ociIndex
	if err := json.Unmarshal(blobs[ckPath], &ck); err != nil {
		return fmt.Errorf("checkpoint index: %w", err)
	}
	imageName := ck.Annotations["image.name"]
	if imageName == "" {
		return errors.New(`checkpoint index has no "image.name" annotation`)
	}
	if ck.Annotations == nil {
		ck.Annotations = map[string]string{}
	}
	ck.Annotations["org.opencontainers.image.ref.name"] = imageName
	ck.Annotations["io.containerd.checkpoint.runtime"] = "io.containerd.runc.v2"
	ck.Annotations["io.containerd.checkpoint.snapshotter"] = "overlayfs"
	add := func(data []byte) string {
		p := blobPath(data)
		if _, ok := blobs[p]; !ok {
			order = append(order, p)
		}
		blobs[p] = data
		return digestOf(data)
	}
	ck.Manifests = append(ck.Manifests, ociDescriptor{
		MediaType: mediaRuntimeOptions, Digest: add(runtimeOptions), Size: int64(len(runtimeOptions)),
	})
	ckJSON, err := json.Marshal(ck)
	if err != nil {
		return err
	}
	top.Manifests[0].Digest = add(ckJSON)
	top.Manifests[0].Size = int64(len(ckJSON))
	top.Manifests[0].Annotations = map[string]string{"io.containerd.image.name": name}
	if blobs["index.json"], err = json.Marshal(top); err != nil {
		return err
	}
	return writeTar(dst, blobs, order)
}

// runcOptions is the protobuf Any of containerd's runc options
// (containerd.runc.v1.Options: binary_name = 6, root = 7), what
// `ctr run --runc-binary B --runc-root R` stores in the container.
func runcOptions(binary, root string) []byte {
	var opts []byte
	if binary != "" {
		opts = protoBytes(opts, 6, []byte(binary))
	}
	opts = protoBytes(opts, 7, []byte(root))
	anyMsg := protoBytes(nil, 1, []byte("containerd.runc.v1.Options"))
	return protoBytes(anyMsg, 2, opts)
}

// protoBytes appends a length-delimited protobuf field.
func protoBytes(b []byte, field int, v []byte) []byte {
	b = appendVarint(b, uint64(field)<<3|2)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func blobPathOf(digest string) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

// readTar loads every regular file of a (small) tar into memory.
func readTar(path string) (map[string][]byte, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	files := map[string][]byte{}
	var order []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, order, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, tr); err != nil {
			return nil, nil, err
		}
		files[h.Name] = buf.Bytes()
		order = append(order, h.Name)
	}
}

func writeTar(path string, files map[string][]byte, order []string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range order {
		if err := writeFile(tw, name, files[name], 0o644); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
