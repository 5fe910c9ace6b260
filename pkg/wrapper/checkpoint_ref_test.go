package wrapper

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A containerd caller (its shim) with exit semantics gets a reference to
// ARCH's image in its --image-path, not a second copy of the dump; every
// other caller gets the dump.

// fakeProc writes a /proc with process pid named comm and returns its root.
func fakeProc(t *testing.T, pid int, comm string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestParentIsContainerdShim(t *testing.T) {
	for comm, want := range map[string]bool{
		"containerd-shim":         true, // containerd-shim-runc-v2 as the kernel keeps it (15 bytes)
		"containerd-shim-runc-v2": true,
		"containerd":              false,
		"dockerd":                 false,
		"bash":                    false,
		"runc":                    false,
		"":                        false,
	} {
		if got := parentIsContainerdShim(fakeProc(t, 4242, comm), 4242); got != want {
			t.Errorf("comm %q: %v, want %v", comm, got, want)
		}
	}
	if parentIsContainerdShim(t.TempDir(), 4242) {
		t.Error("a process without /proc entry is a shim")
	}
	if parentIsContainerdShim("/proc", os.Getpid()) {
		t.Error("the test binary is a shim")
	}
}

// underShim makes the wrapper's parent (the test's) a containerd shim.
func underShim(t *testing.T) {
	t.Helper()
	orig := procRoot
	procRoot = fakeProc(t, os.Getppid(), "containerd-shim")
	t.Cleanup(func() { procRoot = orig })
}

// folderNames lists a folder's entries.
func folderNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestCheckpointUnderAShimWritesAReference(t *testing.T) {
	n, rc, _ := checkpointed(t)
	underShim(t)
	images := filepath.Join(n.dir, "ctrd-checkpoint1")
	n.checkpointID(rc, "c1", images)
	img := n.image()
	if names := folderNames(t, images); len(names) != 1 || names[0] != imageRefName {
		t.Fatalf("the caller's --image-path holds %v, want only %s", names, imageRefName)
	}
	ref, first := readRef(t, images)
	if ref.FormatVersion != imageRefVersion || ref.Key != "jobs/train" || ref.ImageID != img ||
		ref.Store != n.dir+"/store" || ref.CheckpointedAt.IsZero() {
		t.Fatalf("reference %+v; image %s", ref, img)
	}
	if rec := n.record("c1"); rec.CheckpointedImage != img || !rec.SkipResume {
		t.Fatalf("record %+v", rec)
	}

	// The round trip: containerd restores c2 from that checkpoint (runc
	// restore of the folder holding the reference), then checkpoints it
	// again: the second reference differs from the first (containerd 1.6
	// fails a checkpoint whose blob its content store already holds).
	rc2 := newFakeRunc(t)
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	if code, handled := n.restoreCall(rc2, b, "c2", images).dispatch(); !handled || code != 0 {
		t.Fatalf("restore of c2 from the reference: exit %d handled %v\n%s", code, handled, n.archLog())
	}
	if rec := n.record("c2"); rec.RestoredFrom != img || !rc2.initAlive() {
		t.Fatalf("c2: record %+v, alive %v", rec, rc2.initAlive())
	}
	images2 := filepath.Join(n.dir, "ctrd-checkpoint2")
	n.checkpointID(rc2, "c2", images2)
	ref2, second := readRef(t, images2)
	if ref2.ImageID == img || ref2.ImageID != n.image() || string(first) == string(second) {
		t.Fatalf("second reference %s, first %s", second, first)
	}
}

func TestCheckpointGivesTheDumpToOtherCallers(t *testing.T) {
	for name, c := range map[string]struct {
		shim  bool
		extra []string
	}{
		"direct runc caller":           {shim: false},
		"shim with --leave-running":    {shim: true, extra: []string{"--leave-running"}},
		"direct caller, leave-running": {shim: false, extra: []string{"--leave-running"}},
	} {
		t.Run(name, func(t *testing.T) {
			n, rc, _ := checkpointed(t)
			if c.shim {
				underShim(t)
			}
			images := filepath.Join(n.dir, "caller-image")
			n.checkpointID(rc, "c1", images, c.extra...)
			names := strings.Join(folderNames(t, images), " ")
			if !strings.Contains(names, "pages-1.img") || !strings.Contains(names, "inventory.img") || strings.Contains(names, imageRefName) {
				t.Fatalf("the caller's --image-path holds %s, want the dump", names)
			}
			if rc.initAlive() {
				t.Fatal("the container runs on after the checkpoint")
			}
		})
	}
}
