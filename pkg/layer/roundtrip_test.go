package layer

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// captureWorkload runs the workload on overlay A and captures it.
func captureWorkload(t *testing.T) (lower, mergedA, ckpt string, stats CaptureStats) {
	lower = imageLayer(t)
	mergedA, _ = mountOverlay(t, lower)
	runWorkload(t, mergedA)
	ov, err := FindOverlay(mergedA)
	check(t, err)
	ckpt = t.TempDir()
	stats, err = Capture(context.Background(), ov, ckpt, CaptureOptions{Exclude: []string{"/run/secrets"}})
	check(t, err)
	return lower, mergedA, ckpt, stats
}

var notCompared = []string{"dev", "proc", "run/secrets"}

func TestCaptureThenApplyReproducesTheMergedView(t *testing.T) {
	lower, mergedA, ckpt, stats := captureWorkload(t)
	mergedB, _ := mountOverlay(t, lower)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Commit())
	sameListing(t, "A vs B", listing(t, mergedA, notCompared...), listing(t, mergedB, notCompared...))

	if a := allocated(t, filepath.Join(mergedB, "app/sparse")); a > 1<<20 {
		t.Errorf("sparse file takes %d bytes after Apply, want holes kept", a)
	}
	if fi, err := os.Stat(filepath.Join(ckpt, RootfsDiffTar)); err != nil || fi.Size() > 8<<20 {
		t.Errorf("archive size %v, %v: the 1 GiB sparse file must not be expanded", fi.Size(), err)
	}
	if stats.Files == 0 || stats.Dirs == 0 || stats.Symlinks != 2 || stats.Hardlinks != 2 ||
		stats.Devices != 1 || stats.Fifos != 1 {
		t.Errorf("stats = %+v", stats)
	}
}

func TestCaptureWritesTheEcosystemLayout(t *testing.T) {
	_, _, ckpt, stats := captureWorkload(t)
	var deleted []string
	b, err := os.ReadFile(filepath.Join(ckpt, DeletedFiles))
	check(t, err)
	check(t, json.Unmarshal(b, &deleted))
	slices.Sort(deleted)
	want := []string{"/data/sub/z", "/data/x", "/data/y", "/etc/remove-me", "/opt/olddir"}
	// "lib" and "replace-dir-with-file" were replaced, not deleted: the tar
	// entry takes their place.
	for _, w := range want {
		if !slices.Contains(deleted, w) {
			t.Errorf("deleted.files lacks %s: %v", w, deleted)
		}
	}
	if stats.Deleted != len(deleted) {
		t.Errorf("stats.Deleted = %d, file has %d", stats.Deleted, len(deleted))
	}
	for _, d := range deleted {
		if strings.HasPrefix(d, "/data/sub/kept-name") || strings.HasPrefix(d, "/data/new") {
			t.Errorf("%s is in the upperdir and must survive, yet deleted.files has it", d)
		}
	}

	f, err := os.Open(filepath.Join(ckpt, RootfsDiffTar))
	check(t, err)
	defer f.Close()
	names := map[string]*tar.Header{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		check(t, err)
		names[h.Name] = h
	}
	for _, n := range []string{"./", "tmp/count", "var/log/app.log", "app/tree/", "app/sparse", "app/null", "app/fifo"} {
		if names[n] == nil {
			t.Errorf("archive lacks %q", n)
		}
	}
	for n := range names {
		if strings.HasPrefix(n, "run/secrets") || strings.HasPrefix(n, "dev/") || strings.HasPrefix(n, "proc/") ||
			n == "dev/" || n == "proc/" || strings.HasPrefix(n, "/") {
			t.Errorf("archive has %q, which must not be captured", n)
		}
	}
	if h := names["app/tree/hard"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "app/hard2" {
		t.Errorf("hardlink entry = %+v", h)
	}
	if h := names["etc/conf"]; h == nil || h.Mode != 0o4755 || h.Uid != 1000 || h.Gid != 1001 {
		t.Errorf("etc/conf entry = %+v", h)
	}
	if h := names["usr/bin/tool"]; h == nil || h.PAXRecords["SCHILY.xattr.security.capability"] != string(capNetBindService) {
		t.Errorf("capability not captured: %+v", h)
	}
	for n, h := range names {
		for k := range h.PAXRecords {
			if strings.Contains(k, "overlay.") {
				t.Errorf("%s carries overlay's own attribute %s", n, k)
			}
		}
	}
	if h := names["app/sparse"]; h == nil || h.Size != 1<<30 {
		t.Errorf("sparse entry = %+v", h)
	}

	if _, err := exec.LookPath("tar"); err == nil {
		cmd := exec.Command("tar", "-tvf", filepath.Join(ckpt, RootfsDiffTar))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("GNU tar -tvf: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(string(out), "app/sparse") {
			t.Errorf("GNU tar does not list app/sparse:\n%s", out)
		}
	}
}

func TestApplyWithoutADirectoryCacheGivesTheSameView(t *testing.T) {
	lower, mergedA, ckpt, _ := captureWorkload(t)
	defer func(n int) { maxCachedDirs = n }(maxCachedDirs)
	maxCachedDirs = 0
	mergedB, _ := mountOverlay(t, lower)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Commit())
	sameListing(t, "A vs B", listing(t, mergedA, notCompared...), listing(t, mergedB, notCompared...))
}
