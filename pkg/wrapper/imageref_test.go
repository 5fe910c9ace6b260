package wrapper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/state"
)

// A restore whose --image-path holds an ARCH image reference is served
// from ARCH's store, only for the container's own key, store and current
// image; anything else about it fails the restore, and a restore that is
// not ARCH's goes to runc.

// withRef checkpoints c1 and returns the node, a fresh runc, the image
// and a folder holding a reference to it, as containerd unpacks its
// checkpoint image for a restore.
func withRef(t *testing.T) (*testNode, *fakeRunc, string, string) {
	t.Helper()
	n, rc, _ := checkpointed(t)
	n.checkpointID(rc, "c1", filepath.Join(n.dir, "caller-image"))
	img := n.image()
	images := filepath.Join(n.dir, "ctrd-checkpoint")
	err := writeImageRef(images, imageRef{
		FormatVersion: imageRefVersion, Key: "jobs/train", ImageID: img, Store: n.dir + "/store", CheckpointedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, newFakeRunc(t), img, images
}

// checkpointID runs the caller's `runc checkpoint` of container id into
// image folder images (extra flags before the id) and checks it succeeded.
func (n *testNode) checkpointID(rc *fakeRunc, id, images string, extra ...string) {
	n.t.Helper()
	args := append([]string{"checkpoint", "--image-path", images, "--work-path", filepath.Join(n.dir, "caller-work")}, extra...)
	code, handled := n.call(rc, append(args, id)...).checkpoint()
	if !handled || code != 0 {
		n.t.Fatalf("checkpoint %s: exit %d handled %v\n%s", id, code, handled, n.archLog())
	}
}

func readRef(t *testing.T, dir string) (imageRef, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, imageRefName))
	if err != nil {
		t.Fatal(err)
	}
	var ref imageRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return ref, data
}

// restoreCall is containerd's `runc restore` of container id from images
// (the shim's own restore: `ctr container restore`, `docker start
// --checkpoint`).
func (n *testNode) restoreCall(rc *fakeRunc, b, id, images string) *call {
	n.t.Helper()
	return n.call(rc, "--log", filepath.Join(b, "log.json"), "--log-format", "json", "restore",
		"--image-path", images, "--work-path", filepath.Join(n.dir, "caller-work"), "--detach",
		"--pid-file", filepath.Join(b, "init.pid"), "-no-subreaper", "--bundle", b, id)
}

func TestRestoreFromAReference(t *testing.T) {
	n, rc, img, images := withRef(t)
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	code, handled := n.restoreCall(rc, b, "c2", images).dispatch()
	if !handled || code != 0 {
		t.Fatalf("restore: exit %d handled %v\n%s", code, handled, n.archLog())
	}
	if rc.called(stepRestore) != 1 || !rc.initAlive() {
		t.Fatalf("%d runc restores, restored process alive %v", rc.called(stepRestore), rc.initAlive())
	}
	argv := strings.Join(rc.argv[stepRestore], " ")
	for _, want := range []string{"--image-path " + n.dir + "/staging/", "--bundle " + b, "--pid-file " + b + "/init.pid", "--detach", "c2"} {
		if !strings.Contains(argv, want) {
			t.Errorf("runc restore argv %q lacks %q", argv, want)
		}
	}
	if strings.Contains(argv, images) {
		t.Errorf("runc restore got the caller's image path: %q", argv)
	}
	// A caller's restore is followed by no start: nothing to answer.
	rec := n.record("c2")
	if rec.RestoredFrom != img || rec.SkipStart || rec.Key != "jobs/train" {
		t.Fatalf("record %+v", rec)
	}
	n.mustBeRestoredBy(t, "c2")
	if !strings.Contains(n.archLog(), "restore served from ARCH's image reference") {
		t.Error("the log does not say how the restore was served")
	}
	n.locksFree("c2")
}

// writeRefFile replaces the reference in images by data.
func writeRefFile(t *testing.T, images string, data []byte) {
	t.Helper()
	p := filepath.Join(images, imageRefName)
	os.Remove(p)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// editRef rewrites a field of the reference in images.
func editRef(t *testing.T, images string, edit func(*imageRef)) {
	t.Helper()
	ref, _ := readRef(t, images)
	edit(&ref)
	data, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	writeRefFile(t, images, data)
}

func TestRestoreRefusesReferences(t *testing.T) {
	for name, c := range map[string]struct {
		prepare func(t *testing.T, n *testNode, rc *fakeRunc, images, b string)
		why     string
	}{
		"another key": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			editRef(t, images, func(r *imageRef) { r.Key = "jobs/other" })
		}, `it names key "jobs/other", and this container's key is "jobs/train"`},
		"another store": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			editRef(t, images, func(r *imageRef) { r.Store = n.dir + "/elsewhere" })
		}, "and this container's store is"},
		"not the current image": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			editRef(t, images, func(r *imageRef) { r.ImageID = "20200101T000000.000000000Z-0000000000000000" })
		}, "only a key's latest checkpoint restores"},
		"no image": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			ref, _ := readRef(t, images)
			if _, err := n.store().RemoveIfCurrent(trainKey(t), ref.ImageID); err != nil {
				t.Fatal(err)
			}
		}, `has no image in the store`},
		"malformed JSON": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			writeRefFile(t, images, []byte(`{"formatVersion": 1, "key": "jobs/train",`))
		}, "unreadable ARCH image reference"},
		"another format version": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			editRef(t, images, func(r *imageRef) { r.FormatVersion = 2 })
		}, "format version 2"},
		"symlinked reference": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			// A valid reference, reached through a symlink.
			p := filepath.Join(images, imageRefName)
			elsewhere := filepath.Join(n.dir, "ref-elsewhere.json")
			if err := os.Rename(p, elsewhere); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(elsewhere, p); err != nil {
				t.Fatal(err)
			}
		}, "is a symlink"},
		"a folder as reference": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			p := filepath.Join(images, imageRefName)
			os.Remove(p)
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		"lazy pages": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {}, "--lazy-pages"},
		"the image does not fit": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			n.bundle("c2", "/bin/train", "--epochs=10")
		}, "process args differ"},
		"runc restore fails": {func(t *testing.T, n *testNode, rc *fakeRunc, images, b string) {
			rc.fail[stepRestore] = exitErr("restore", "c2")
		}, "restore failed"},
	} {
		t.Run(name, func(t *testing.T) {
			n, rc, img, images := withRef(t)
			b := n.bundle("c2", "/bin/train", "--epochs=9")
			c.prepare(t, n, rc, images, b)
			call := n.restoreCall(rc, b, "c2", images)
			if name == "lazy pages" {
				call.cmd.SetBool("lazy-pages")
			}
			code, handled := call.dispatch()
			if !handled || code != exitArchError {
				t.Fatalf("restore: exit %d handled %v; want refused\n%s", code, handled, n.archLog())
			}
			if name != "runc restore fails" && rc.called(stepRestore) != 0 {
				t.Fatal("runc restore ran")
			}
			if rc.initAlive() {
				t.Fatal("a process runs after a refused restore")
			}
			if msg := lastRuncError(t, b); !strings.Contains(msg, c.why) {
				t.Errorf("runc's last error %q does not say %q", msg, c.why)
			}
			if ph := state.NodeRecords(n.dir+"/state").Lookup(n.root, "c2").Phase(); ph != state.PhaseNotARCH {
				t.Errorf("c2 after a refused restore: %s", ph)
			}
			if left := n.stagingLeft(); len(left) > 0 {
				t.Errorf("staging left: %v", left)
			}
			if name != "no image" {
				if got := n.image(); got != img {
					t.Errorf("image %q, want %q kept", got, img)
				}
				cur, err := n.store().Current(trainKey(t))
				if err != nil {
					t.Fatal(err)
				}
				if cur.Restored != nil {
					t.Errorf("the image is marked restored: %+v", cur.Restored)
				}
				cur.Close()
			}
			n.locksFree("c2")
		})
	}
}

// lastRuncError is what containerd would show the user: the msg of the
// last error line of runc's --log in bundle b.
func lastRuncError(t *testing.T, b string) string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(b, "log.json"))
	msg := ""
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var l struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Level == "error" {
			msg = l.Msg
		}
	}
	return msg
}

// A restore ARCH has nothing to do with goes to runc unchanged: one of a
// container that is not enabled (even from a reference), and one from a
// dump.
func TestRestorePassesThroughToRunc(t *testing.T) {
	n, rc, _, images := withRef(t)
	b := n.bundle("c2", "/bin/train", "--epochs=9")
	config := filepath.Join(b, "config.json")
	data, _ := os.ReadFile(config)
	if err := os.WriteFile(config, []byte(strings.Replace(string(data), "ARCH_ENABLE=1", "ARCH_ENABLE=0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, handled := n.restoreCall(rc, b, "c2", images).dispatch(); handled {
		t.Fatalf("restore of a container that is not enabled handled: exit %d", code)
	}
	if ph := state.NodeRecords(n.dir+"/state").Lookup(n.root, "c2").Phase(); ph != state.PhaseNotARCH {
		t.Errorf("c2: %s", ph)
	}

	// A dump (no reference) in the image path, enabled container: runc's.
	dump := filepath.Join(n.dir, "dump")
	n.writeDump(t, dump)
	b3 := n.bundle("c3", "/bin/train", "--epochs=9")
	c := n.restoreCall(rc, b3, "c3", dump)
	if c.handler() != nil {
		t.Fatal("a restore from a dump has a handler")
	}
	if _, ok := PassesThrough(c.argv, c.env); !ok {
		t.Fatal("PassesThrough does not hand a restore from a dump to runc")
	}
	if _, ok := PassesThrough(n.restoreCall(rc, b3, "c3", images).argv, c.env); ok {
		t.Fatal("PassesThrough hands a restore from a reference to runc")
	}
	if rc.called(stepRestore) != 0 {
		t.Fatal("ARCH ran runc restore")
	}
}

// writeDump writes a CRIU-like dump into dir.
func (n *testNode) writeDump(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inventory.img"), []byte("inventory"), 0o600); err != nil {
		t.Fatal(err)
	}
}
