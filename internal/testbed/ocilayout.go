package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// File is one entry of a test image's single layer. Exactly one of the
// following shapes: a regular file (Content, Mode), a symlink (Link) or a
// directory (Dir, Mode).
type File struct {
	Content []byte
	Mode    int64  // permission bits; 0 means 0644 for files, 0755 for dirs
	Link    string // symlink target when not empty
	Dir     bool
}

// ImageConfig is the part of the OCI image config the tests set.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
}

// epoch is the fixed modification time of every entry: the same inputs give
// the same bytes, hence the same digests.
var epoch = time.Unix(946684800, 0).UTC() // 2000-01-01

// WriteOCILayout writes an OCI image layout tar for ref (a full reference
// such as docker.io/arch-test/x:latest) whose one gzip layer holds files
// (keyed by path inside the image), for the host's architecture. The output
// is deterministic. index.json names the image both ways `ctr image import`
// understands: io.containerd.image.name (the full ref) and
// org.opencontainers.image.ref.name (the tag).
func WriteOCILayout(w io.Writer, ref string, files map[string]File, cfg ImageConfig) error {
	layer, diffID, err := buildLayer(files)
	if err != nil {
		return err
	}
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int               `json:"size"`
		Platform    map[string]string `json:"platform,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"Entrypoint": cfg.Entrypoint,
			"Cmd":        cfg.Cmd,
			"Env":        cfg.Env,
			"WorkingDir": cfg.WorkingDir,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        desc{"application/vnd.oci.image.config.v1+json", digestOf(config), len(config), nil, nil},
		"layers":        []desc{{"application/vnd.oci.image.layer.v1.tar+gzip", digestOf(layer), len(layer), nil, nil}},
	})
	if err != nil {
		return err
	}
	tag := "latest"
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		tag = ref[i+1:]
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []desc{{
			MediaType: "application/vnd.oci.image.manifest.v1+json",
			Digest:    digestOf(manifest), Size: len(manifest),
			Platform: map[string]string{"architecture": runtime.GOARCH, "os": "linux"},
			Annotations: map[string]string{
				"io.containerd.image.name":          ref,
				"org.opencontainers.image.ref.name": tag,
			},
		}},
	})
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	entries := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blobPath(config), config},
		{blobPath(manifest), manifest},
		{blobPath(layer), layer},
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := writeFile(tw, e.name, e.data, 0o644); err != nil {
			return err
		}
	}
	return tw.Close()
}

// buildLayer returns the gzip layer and its diff id (digest of the plain tar).
func buildLayer(files map[string]File) (gz []byte, diffID string, err error) {
	clean := make(map[string]File, len(files))
	for name, f := range files {
		if c := strings.TrimPrefix(path.Clean("/"+name), "/"); c != "" {
			clean[c] = f
		}
	}
	names := make([]string, 0, len(clean))
	for name := range clean {
		names = append(names, name)
	}
	sort.Strings(names)
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	written := map[string]bool{}
	var write func(name string) error
	write = func(name string) error {
		if written[name] {
			return nil
		}
		if dir := path.Dir(name); dir != "." {
			if err := write(dir); err != nil { // parents first
				return err
			}
		}
		written[name] = true
		f, ok := clean[name]
		switch {
		case !ok: // implicit parent directory
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: epoch})
		case f.Link != "":
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: f.Link, Mode: 0o777, ModTime: epoch})
		case f.Dir:
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: modeOr(f.Mode, 0o755), ModTime: epoch})
		default:
			return writeFile(tw, name, f.Content, modeOr(f.Mode, 0o644))
		}
	}
	for _, name := range names {
		if err := write(name); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out) // no name, zero mtime: deterministic
	if _, err := zw.Write(plain.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return out.Bytes(), digestOf(plain.Bytes()), nil
}

func writeFile(tw *tar.Writer, name string, data []byte, mode int64) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: mode, ModTime: epoch}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func modeOr(m, def int64) int64 {
	if m == 0 {
		return def
	}
	return m
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(b []byte) string {
	return "blobs/sha256/" + strings.TrimPrefix(digestOf(b), "sha256:")
}
