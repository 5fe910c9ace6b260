package layer

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// countEntries counts the entries of a checkpoint's archive.
func countEntries(t *testing.T, ckpt string) int {
	f, err := os.Open(filepath.Join(ckpt, RootfsDiffTar))
	check(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	n := 0
	for {
		if _, err := tr.Next(); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// failAt makes Apply fail before entry n; it is undone when the test ends.
func failAt(t *testing.T, n int) error {
	injected := errors.New("injected failure")
	applyEntryHook = func(i int, _ *tar.Header) error {
		if i == n {
			return injected
		}
		return nil
	}
	t.Cleanup(func() { applyEntryHook = nil })
	return injected
}

func TestRollbackAfterAFailedApplyRestoresTheRootfs(t *testing.T) {
	lower, _, ckpt, _ := captureWorkload(t)
	total := countEntries(t, ckpt)
	for _, n := range []int{1, 2, total / 3, total / 2, total - 1} {
		t.Run("", func(t *testing.T) {
			mergedB, _ := mountOverlay(t, lower)
			before := listing(t, mergedB)
			injected := failAt(t, n)
			j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
			if !errors.Is(err, injected) || j != nil {
				t.Fatalf("Apply = %v, %v; want the injected failure", j, err)
			}
			sameListing(t, "after failure at entry "+itoa(n), before, listing(t, mergedB))
		})
	}
}

func TestRollbackAfterAFullApplyRestoresTheRootfs(t *testing.T) {
	lower, _, ckpt, _ := captureWorkload(t)
	mergedB, _ := mountOverlay(t, lower)
	before := listing(t, mergedB)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Rollback())
	sameListing(t, "after rollback", before, listing(t, mergedB))
	if err := j.Commit(); !errors.Is(err, ErrJournalClosed) {
		t.Errorf("Commit after Rollback = %v", err)
	}
}

func TestRollbackUndoesDeletionsOfAFailingDeletedFiles(t *testing.T) {
	lower, _, ckpt, _ := captureWorkload(t)
	// a deletion that goes through a symlink fails after the others ran
	check(t, os.WriteFile(filepath.Join(ckpt, DeletedFiles),
		[]byte(`["/etc/remove-me","/opt/olddir","/data","/bin/tool"]`), 0o600))
	mergedB, _ := mountOverlay(t, lower)
	before := listing(t, mergedB)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	if !errors.Is(err, ErrUnsafeEntry) || j != nil {
		t.Fatalf("Apply = %v, %v; want ErrUnsafeEntry", j, err)
	}
	sameListing(t, "after failed deletions", before, listing(t, mergedB))
}

func TestCommitLeavesNoBackupBehind(t *testing.T) {
	lower, mergedA, ckpt, _ := captureWorkload(t)
	mergedB, _ := mountOverlay(t, lower)
	j, err := Apply(context.Background(), mergedB, ckpt, ApplyOptions{})
	check(t, err)
	check(t, j.Commit())
	ents, err := os.ReadDir(mergedB)
	check(t, err)
	for _, e := range ents {
		if e.Name()[0] == '.' {
			t.Errorf("%s left in the rootfs", e.Name())
		}
	}
	sameListing(t, "A vs B", listing(t, mergedA, notCompared...), listing(t, mergedB, notCompared...))
	if err := j.Rollback(); !errors.Is(err, ErrJournalClosed) {
		t.Errorf("Rollback after Commit = %v", err)
	}
}

func TestApplyRespectsACancelledContext(t *testing.T) {
	lower, _, ckpt, _ := captureWorkload(t)
	mergedB, _ := mountOverlay(t, lower)
	before := listing(t, mergedB)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Apply(ctx, mergedB, ckpt, ApplyOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply = %v", err)
	}
	sameListing(t, "after cancelled apply", before, listing(t, mergedB))
}

func TestCaptureRespectsACancelledContext(t *testing.T) {
	lower := imageLayer(t)
	merged, _ := mountOverlay(t, lower)
	runWorkload(t, merged)
	ov, err := FindOverlay(merged)
	check(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	if _, err := Capture(ctx, ov, out, CaptureOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Capture = %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("cancelled Capture left %v", ents)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
