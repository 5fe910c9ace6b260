package testbed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Image is a test image built locally: its reference and the OCI layout tar
// that `ctr image import` (Instance.Import) loads.
type Image struct {
	Ref string
	Tar string
}

// BuildImage writes the OCI layout tar of an image made of files and cfg,
// or reuses the one a previous run cached for the same inputs.
func BuildImage(t testing.TB, ref string, files map[string]File, cfg ImageConfig) Image {
	t.Helper()
	key := imageKey(ref, files, cfg)
	out := filepath.Join(CacheDir(t), "image-"+key[:24]+".tar")
	if _, err := os.Stat(out); err == nil {
		return Image{Ref: ref, Tar: out}
	}
	var buf bytes.Buffer
	if err := WriteOCILayout(&buf, ref, files, cfg); err != nil {
		t.Fatalf("testbed: building image %s: %v", ref, err)
	}
	if err := writeAtomic(out, buf.Bytes(), 0o644); err != nil {
		t.Fatalf("testbed: caching image %s: %v", ref, err)
	}
	return Image{Ref: ref, Tar: out}
}

// imageKey hashes every input of an image.
func imageKey(ref string, files map[string]File, cfg ImageConfig) string {
	h := sha256.New()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	c, _ := json.Marshal(cfg)
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00", ref, c)
	for _, name := range names {
		f := files[name]
		sum := sha256.Sum256(f.Content)
		fmt.Fprintf(h, "%s\x00%o\x00%s\x00%t\x00%x\x00", name, f.Mode, f.Link, f.Dir, sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CacheDir is where built images and binaries are kept between test runs:
// $ARCH_E2E_CACHE, or arch-e2e-cache in the system temp folder.
func CacheDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ARCH_E2E_CACHE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "arch-e2e-cache")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testbed: cache folder: %v", err)
	}
	return dir
}

// writeAtomic writes a file through a temporary name and a rename, so that
// concurrent test processes never see a partial file.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
