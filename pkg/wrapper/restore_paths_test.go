package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/state"
)

// A create of an enabled container whose workload has an image turns into
// a restore, over a scripted runc: each way it can fail ends in the
// caller's own create (handled false), with nothing of the attempt left.

// withImage checkpoints the workload once (container c1) and returns the
// node, a fresh runc for the next container, and the image.
func withImage(t *testing.T, extra ...string) (*testNode, *fakeRunc, string) {
	n, rc, _ := checkpointed(t, extra...)
	if code, _, _ := n.checkpoint(rc); code != 0 {
		t.Fatalf("checkpoint: %d\n%s", code, n.archLog())
	}
	img := n.image()
	if img == "" {
		t.Fatal("no image")
	}
	return n, newFakeRunc(t), img
}

// freshCreate checks a create ran as the caller's own: not restored, the
// record without restore marks, nothing in staging, the loopback hook not
// left in config.json, the image still there (or gone, when discarded).
func freshCreate(t *testing.T, n *testNode, rc *fakeRunc, b, id string, restored bool, wantImage string) {
	t.Helper()
	if restored {
		t.Fatalf("create %s restored", id)
	}
	rec := n.record(id)
	if rec.SkipStart || rec.RestoredFrom != "" {
		t.Errorf("record after a fresh create: %+v", rec)
	}
	if left := n.stagingLeft(); len(left) > 0 {
		t.Errorf("staging left: %v", left)
	}
	if config, _ := os.ReadFile(filepath.Join(b, "config.json")); strings.Contains(string(config), `"`+archspec.LoopbackStage+`"`) &&
		strings.Contains(string(config), "loopback") {
		t.Errorf("the loopback hook is left in config.json:\n%s", config)
	}
	if got := n.image(); got != wantImage {
		t.Errorf("image %q, want %q", got, wantImage)
	}
	n.locksFree(id)
}

func TestCreateTurnsIntoARestore(t *testing.T) {
	n, rc, img := withImage(t)
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	if !n.create(rc, b, "c2") {
		t.Fatalf("create did not restore\n%s", n.archLog())
	}
	rec := n.record("c2")
	if !rec.SkipStart || rec.RestoredFrom != img || !rc.initAlive() {
		t.Fatalf("record %+v, restored process alive %v", rec, rc.initAlive())
	}
	argv := strings.Join(rc.argv[stepRestore], " ")
	for _, want := range []string{"--root " + n.root, "restore", "--detach", "--bundle " + b, "c2"} {
		if !strings.Contains(argv, want) {
			t.Errorf("restore argv %q lacks %q", argv, want)
		}
	}
	n.mustBeRestoredBy(t, "c2")
	// The shim's start is answered by ARCH, once.
	if code, handled := n.call(rc, "start", "c2").dispatch(); !handled || code != 0 {
		t.Fatalf("start after restore: %d %v", code, handled)
	}
	if n.record("c2").SkipStart {
		t.Fatal("the start mark is not consumed")
	}
	n.locksFree("c2")
}

func TestRestoreFailsFallsBackToAFreshCreate(t *testing.T) {
	n, rc, img := withImage(t)
	rc.fail[stepRestore] = exitErr("restore", "c2")
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	restored := n.create(rc, b, "c2")
	freshCreate(t, n, rc, b, "c2", restored, img) // kept for the next attempt
	if rc.called(stepDelete) != 1 {
		t.Errorf("%d deletes: a failed restore's leftovers in runc must go", rc.called(stepDelete))
	}
	if !strings.Contains(n.archLog(), "restore failed, starting fresh") {
		t.Error("the log does not say the restore failed")
	}
}

func TestRestoreTimeoutFallsBackToAFreshCreate(t *testing.T) {
	n, rc, img := withImage(t, "restore_timeout = 2s\n")
	rc.hangs[stepRestore] = true
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	restored := n.create(rc, b, "c2")
	freshCreate(t, n, rc, b, "c2", restored, img)
	if !strings.Contains(n.archLog(), "timed out after 2s (restore_timeout)") {
		t.Error("the log does not say the restore timed out")
	}
}

func TestImageThatDoesNotFitIsNotRestored(t *testing.T) {
	n, rc, img := withImage(t)
	b := n.bundle("c2", "/bin/train", "--epochs=10") // another process
	restored := n.create(rc, b, "c2")
	freshCreate(t, n, rc, b, "c2", restored, img)
	if rc.called(stepRestore) != 0 {
		t.Fatal("runc restore ran for an image that does not fit")
	}
	if !strings.Contains(n.archLog(), "process args differ") {
		t.Error("the log does not say why")
	}
}

func TestCorruptImageIsNotRestored(t *testing.T) {
	n, rc, img := withImage(t)
	cur, err := n.store().Current(trainKey(t))
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(n.dir, "store", trainKey(t).Folder(), cur.Manifest.Archive.Name)
	cur.Close()
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	os.WriteFile(archive, data, 0o600)
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	restored := n.create(rc, b, "c2")
	freshCreate(t, n, rc, b, "c2", restored, img)
	if rc.called(stepRestore) != 0 {
		t.Fatal("runc restore ran on a corrupt image")
	}
}

// After max_restore_attempts restores of one image (its workload kept
// failing after them), the next create starts fresh and discards it.
func TestRestoreBudgetDiscardsTheImage(t *testing.T) {
	n, rc, img := withImage(t)
	s := n.store()
	for i := 0; i < 3; i++ {
		if err := s.MarkRestored(trainKey(t), img, ckpt.RestoredInfo{Node: "n1", ContainerID: "old"}); err != nil {
			t.Fatal(err)
		}
	}
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	restored := n.create(rc, b, "c2")
	freshCreate(t, n, rc, b, "c2", restored, "")
	if rc.called(stepRestore) != 0 {
		t.Fatal("restored past the budget")
	}
}

// A key folder replaced by a symlink (a hostile tenant with write access
// to a shared store) is never followed: the create starts fresh.
func TestSymlinkedKeyFolderIsNotFollowed(t *testing.T) {
	n, rc, _ := withImage(t)
	folder := filepath.Join(n.dir, "store", trainKey(t).Folder())
	elsewhere := filepath.Join(n.dir, "elsewhere")
	if err := os.Rename(folder, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, folder); err != nil {
		t.Fatal(err)
	}
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	if n.create(rc, b, "c2") {
		t.Fatal("restored through a symlinked key folder")
	}
	rec := n.record("c2")
	if rec.SkipStart || rc.called(stepRestore) != 0 {
		t.Fatalf("record %+v, restores %d", rec, rc.called(stepRestore))
	}
	if state.NodeRecords(n.dir+"/state").Lookup(n.root, "c2").Phase() != state.PhaseCreated {
		t.Fatal("the container is not an ordinary ARCH container")
	}
	if !strings.Contains(n.archLog(), "checkpoint image unusable, starting fresh") {
		t.Error("the log does not say why")
	}
}
