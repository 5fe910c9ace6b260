package testbed

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestWriteOCILayout(t *testing.T) {
	files := map[string]File{
		"/bin/busybox": {Content: []byte("binary"), Mode: 0o755},
		"/bin/sh":      {Link: "busybox"},
		"/tmp":         {Dir: true, Mode: 0o1777},
		"etc/deep/x":   {Content: []byte("x")},
	}
	cfg := ImageConfig{Entrypoint: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}, WorkingDir: "/"}
	var a, b bytes.Buffer
	if err := WriteOCILayout(&a, "docker.io/x/y:v1", files, cfg); err != nil {
		t.Fatal(err)
	}
	if err := WriteOCILayout(&b, "docker.io/x/y:v1", files, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two builds of the same image differ")
	}
	blobs := untar(t, a.Bytes())
	var index ociIndex
	if err := json.Unmarshal(blobs["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	ann := index.Manifests[0].Annotations
	if ann["io.containerd.image.name"] != "docker.io/x/y:v1" || ann["org.opencontainers.image.ref.name"] != "v1" {
		t.Fatalf("index annotations %v", ann)
	}
	var manifest struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	mustJSON(t, blobs[blobPathOf(index.Manifests[0].Digest)], &manifest)
	var config struct {
		Config ImageConfig `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	mustJSON(t, blobs[blobPathOf(manifest.Config.Digest)], &config)
	if config.Config.Entrypoint[0] != "/bin/sh" || config.Config.WorkingDir != "/" {
		t.Fatalf("config %+v", config.Config)
	}
	layer := blobs[blobPathOf(manifest.Layers[0].Digest)]
	zr, err := gzip.NewReader(bytes.NewReader(layer))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(plain) != config.RootFS.DiffIDs[0] {
		t.Fatal("diff id is not the digest of the uncompressed layer")
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(plain))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "tmp/" && h.Mode != 0o1777 {
			t.Errorf("tmp mode %o", h.Mode)
		}
		if h.Name == "bin/sh" && (h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox") {
			t.Errorf("bin/sh: %+v", h)
		}
	}
	want := "bin/ bin/busybox bin/sh etc/ etc/deep/ etc/deep/x tmp/"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("layer entries %q, want %q (parents first)", got, want)
	}
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[h.Name] = data
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}
