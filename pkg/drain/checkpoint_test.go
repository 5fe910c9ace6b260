package drain

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// commitImage commits a small image for key into store and returns its ID.
func commitImage(t *testing.T, store *ckpt.Store, key ckpt.Key) string {
	t.Helper()
	staging := t.TempDir()
	os.MkdirAll(filepath.Join(staging, "checkpoint"), 0o700)
	for name, data := range map[string]string{
		"checkpoint/pages-1.img": strings.Repeat("memory", 1000),
		"dump.log":               "(00.1) Dumping finished successfully\n",
	} {
		if err := os.WriteFile(filepath.Join(staging, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	meta := ckpt.Meta{ContainerID: "c1", Args: []string{"/job"}, Spec: []byte(`{}`)}
	m, err := store.Commit(context.Background(), key, staging, meta, ckpt.CommitOptions{Compression: ckpt.CompressionNone})
	if err != nil {
		t.Fatal(err)
	}
	return m.ImageID
}

func TestNewImageVerifiesTheStore(t *testing.T) {
	store, err := ckpt.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ckpt.ParseKey("e2e/job")
	if _, err := newImage(store, key, ""); err == nil || !strings.Contains(err.Error(), "has no image for key e2e/job") {
		t.Fatalf("no image: %v", err)
	}
	first := commitImage(t, store, key)
	if prev := currentImageID(store, key); prev != first {
		t.Fatalf("currentImageID = %q, want %q", prev, first)
	}
	if _, err := newImage(store, key, first); err == nil || !strings.Contains(err.Error(), "no new image") {
		t.Fatalf("same image as before: %v", err)
	}
	second := commitImage(t, store, key)
	img, err := newImage(store, key, first)
	if err != nil || img.ID != second || img.Size <= 0 {
		t.Fatalf("new image: %+v, %v", img, err)
	}
	// A truncated archive is not a complete image.
	cur, err := store.Current(key)
	if err != nil {
		t.Fatal(err)
	}
	path := cur.ArchivePath()
	cur.Close()
	if err := os.Truncate(path, img.Size-1); err != nil {
		t.Fatal(err)
	}
	if _, err := newImage(store, key, first); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("truncated archive: %v", err)
	}
}
