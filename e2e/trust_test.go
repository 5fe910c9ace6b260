package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// sharedEnv is the environment of a container in shared-filesystem mode.
func sharedEnv(shared, key string) map[string]string {
	return map[string]string{
		"ARCH_CHECKPOINT_KEY": key, "ARCH_SHAREDFS_HOST_PATH": shared, "ARCH_WORKDIR_CONTAINER_PATH": "/work",
	}
}

// sh runs a shell command in a container and returns its stdout.
func sh(t *testing.T, n *archNode, id, script string) string {
	t.Helper()
	res, err := n.Exec(ns, id, "sh", "-c", script)
	must(t, err)
	if res.ExitCode != 0 {
		t.Fatalf("%s: %q exited %d: %s", id, script, res.ExitCode, res.Stderr)
	}
	return res.Stdout
}

// hostRootEntries are names the host's root folder has and a container's
// empty work dir does not: seeing them in /work is the escape.
var hostRootEntries = []string{"usr", "var", "run", "boot"}

// TestTenantWorkDirsNeverNest is the escape of issue 9 and its variants: a
// tenant plants symlinks to the host's root at every name it can reach in
// its own work dir; a second container whose key would have put its work
// dir below the first's gets its own flat work dir, never the host's root,
// and shared roots named inside a tenant's work dir are refused (the
// container runs without ARCH). Nothing is created outside the allowed
// root, and ARCH adds nothing to the tenant's work dir.
func TestTenantWorkDirsNeverNest(t *testing.T) {
	shared := testbed.SharedFolder(t)
	n := newArchNode(t, "trust-nest", "", "")
	hostBefore := hostRootNames(t)

	n.run(t, testbed.ShellCounterRef, "evil", sharedEnv(shared, "evil"))
	planted := sh(t, n, "evil", "cd /work && for l in b work checkpoint evil%2Fb; do busybox ln -s / $l; done && "+
		"mkdir x && busybox ln -s / x/y && echo planted")
	if strings.TrimSpace(planted) != "planted" {
		t.Fatalf("the tenant could not plant its symlinks: %q", planted)
	}
	evilDir := filepath.Join(shared, "work", "evil")
	tenantOwn := folderNames(t, evilDir)

	// The key evil/b used to get <shared>/work/evil/b: the symlink to /.
	n.run(t, testbed.ShellCounterRef, "victim", sharedEnv(shared, "evil/b"))
	seen := strings.Fields(sh(t, n, "victim", "ls -a /work; echo hello > /work/marker"))
	for _, name := range hostRootEntries {
		if slices.Contains(seen, name) {
			t.Fatalf("the second container sees the host's root in /work: %v", seen)
		}
	}
	victimDir := filepath.Join(shared, "work", "evil%2Fb")
	if st, err := os.Lstat(victimDir); err != nil || !st.IsDir() {
		t.Fatalf("the second container's work dir %s: %v, %v", victimDir, st, err)
	}
	if b, err := os.ReadFile(filepath.Join(victimDir, "marker")); err != nil || string(b) != "hello\n" {
		t.Fatalf("what the second container wrote in /work is not in its own work dir: %q, %v", b, err)
	}

	// Shared roots inside the tenant's work dir, through its symlinks or
	// not: refused, the container runs without ARCH.
	for i, p := range []string{evilDir, evilDir + "/x", evilDir + "/b", evilDir + "/x/y"} {
		id := fmt.Sprintf("nested-%d", i)
		n.run(t, testbed.ShellCounterRef, id, sharedEnv(p, "nested"))
		mustCountAbove(t, n.Instance, id, 0)
		if !logHas(n.archLog(), `"id":"`+id+`"`, "folder named work", "runs without checkpoint/restore") {
			t.Fatalf("%s: ARCH's log does not say why the container runs without ARCH:\n%s", p, n.archLog())
		}
		if out := sh(t, n, id, "ls -a /work 2>&1; true"); strings.Contains(out, "usr") {
			t.Fatalf("%s: the container sees the host's root: %s", p, out)
		}
	}
	if got := folderNames(t, evilDir); !slices.Equal(got, tenantOwn) {
		t.Fatalf("ARCH changed the tenant's work dir: %v, was %v", got, tenantOwn)
	}
	if got := hostRootNames(t); !slices.Equal(got, hostBefore) {
		t.Fatalf("the host's root changed: %v, was %v", got, hostBefore)
	}
	// Checkpoint and restore of the second container still work, into and
	// out of its own work dir.
	n.checkpointStop(t, "victim")
	n.remove(t, "victim")
	n.run(t, testbed.ShellCounterRef, "victim", sharedEnv(shared, "evil/b"))
	if !logHas(n.archLog(), `"id":"victim"`, "create turned into restore") {
		t.Fatalf("the second container was not restored:\n%s", n.archLog())
	}
	if out := sh(t, n, "victim", "cat /work/marker"); out != "hello\n" {
		t.Fatalf("restored container's work dir: %q", out)
	}
}

// TestHostPathsOutsideAllowedRootsRunWithoutArch: a store or shared root
// outside the node's allowed roots (or climbing out of one) is refused: the
// container runs fresh without ARCH, nothing is created on the host, and
// ARCH's log, runc's log and `arch-hook explain` say why.
func TestHostPathsOutsideAllowedRootsRunWithoutArch(t *testing.T) {
	n := newArchNode(t, "trust-outside", "", "")
	outside, err := os.MkdirTemp("/var/tmp", "arch-e2e-outside-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(outside) })
	cases := []struct {
		id  string
		env map[string]string
		why string
	}{
		{"ckpt-outside", map[string]string{"ARCH_CHECKPOINT_HOST_PATH": outside + "/store"}, "is not one of the node's allowed_roots"},
		{"shared-outside", map[string]string{"ARCH_SHAREDFS_HOST_PATH": outside + "/efs", "ARCH_WORKDIR_CONTAINER_PATH": "/work"}, "is not one of the node's allowed_roots"},
		{"climbs-out", map[string]string{"ARCH_CHECKPOINT_HOST_PATH": testbed.AllowedRoot + "/../../var/tmp/" + filepath.Base(outside) + "/x"}, "has a .. component"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			n.run(t, testbed.CCounterRef, c.id, c.env)
			mustCountAbove(t, n.Instance, c.id, 0)
			if !logHas(n.archLog(), `"id":"`+c.id+`"`, c.why) {
				t.Fatalf("ARCH's log does not say why:\n%s", n.archLog())
			}
			out := explain(t, n, c.id)
			if !strings.Contains(out, c.why) || !strings.Contains(out, "pass through, without ARCH") {
				t.Fatalf("explain does not say why:\n%s", out)
			}
			// Not ARCH's: a checkpoint goes to plain runc (a
			// leave-running one keeps the container), and ARCH keeps no record.
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("ARCH created %v outside the allowed roots", ents)
			}
			must(t, n.Cleanup(ns, c.id))
		})
	}
}

// TestSymlinkedKeyFolderIsNeverUsed replaces a container's key folder in
// the store with a symlink: to an empty folder before a checkpoint (the
// checkpoint is refused, the container keeps running, nothing is written
// through the link), and to a folder holding a valid image before a create
// (it starts fresh: nothing is read through the link).
func TestSymlinkedKeyFolderIsNeverUsed(t *testing.T) {
	n := newArchNode(t, "trust-symlink", "", "compression = none")
	const id = "linked"
	key := ns + "/" + id
	n.run(t, testbed.CCounterRef, id, nil)
	mustCountAbove(t, n.Instance, id, 5)
	elsewhere := t.TempDir()
	must(t, os.MkdirAll(n.arch.Store, 0o700))
	must(t, os.Symlink(elsewhere, keyDir(n.arch.Store, key)))
	if _, err := n.TaskCheckpoint(ns, id, true); err == nil {
		t.Fatal("the checkpoint through a symlinked key folder succeeded")
	}
	c := mustCountAbove(t, n.Instance, id, 0)
	mustCountAbove(t, n.Instance, id, c)
	if got := folderNames(t, elsewhere); len(got) != 0 {
		t.Fatalf("the checkpoint wrote through the symlink: %v", got)
	}

	// A real checkpoint, then its key folder moved away and linked back.
	must(t, os.Remove(keyDir(n.arch.Store, key)))
	n.checkpointStop(t, id)
	n.remove(t, id)
	moved := filepath.Join(t.TempDir(), "moved")
	must(t, os.Rename(keyDir(n.arch.Store, key), moved))
	must(t, os.Symlink(moved, keyDir(n.arch.Store, key)))
	os.Remove(n.TaskLog(ns, id))
	n.run(t, testbed.CCounterRef, id, nil)
	waitLogAbove(t, n.TaskLog(ns, id), 1)
	if first := logNumbers(t, n.TaskLog(ns, id))[0]; first != 1 {
		t.Fatalf("restored through a symlinked key folder (count starts at %d)", first)
	}
	if !logHas(n.archLog(), `"id":"`+id+`"`, "symlink") {
		t.Fatalf("ARCH's log does not say why it started fresh:\n%s", n.archLog())
	}
}

// explain runs `arch-hook explain` on a container's bundle.
func explain(t *testing.T, n *archNode, id string) string {
	t.Helper()
	bundle := filepath.Dir(n.Rootfs(ns, id))
	out, err := exec.Command(testbed.Binaries(t).Hook, "explain", "--config", n.arch.Config, bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("arch-hook explain: %v\n%s", err, out)
	}
	return string(out)
}

// folderNames lists a folder's entries (nil when it does not exist).
func folderNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	must(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func hostRootNames(t *testing.T) []string { return folderNames(t, "/") }

// writeImageKey writes an image signing key file, readable by root only.
func writeImageKey(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.key")
	must(t, os.WriteFile(p, []byte("0123456789abcdef0123456789abcdef-e2e-image-key"), 0o600))
	return p
}

// TestSignedImagesRestoreOnlyWithTheirSignature: nodes sharing a store and
// an image_hmac_key_file restore each other's images; a tampered archive
// whose manifest was recomputed, and a manifest copied from another key,
// start fresh on them, with the reason in ARCH's log. A node without the
// key would restore the tampered image: the signature is what refuses it.
func TestSignedImagesRestoreOnlyWithTheirSignature(t *testing.T) {
	store := filepath.Join(testbed.SharedFolder(t), "store")
	conf := "compression = none\nimage_hmac_key_file = " + writeImageKey(t)
	a := newArchNode(t, "signed-a", store, conf)
	b := newArchNode(t, "signed-b", store, conf)

	checkpointOnA := func(id string) int {
		a.run(t, testbed.CCounterRef, id, nil)
		waitLogAbove(t, a.TaskLog(ns, id), 5)
		nums := a.checkpointStop(t, id)
		a.remove(t, id)
		if m := manifest(t, store, ns+"/"+id); m == nil || m["hmac"] == nil {
			t.Fatalf("%s: the image is not signed: %v", id, m)
		}
		return nums[len(nums)-1]
	}
	firstOnB := func(id string) int {
		b.run(t, testbed.CCounterRef, id, nil)
		waitLogAbove(t, b.TaskLog(ns, id), 0)
		return logNumbers(t, b.TaskLog(ns, id))[0]
	}

	last := checkpointOnA("good")
	if first := firstOnB("good"); first != last+1 {
		t.Fatalf("a signed image did not restore on a node with the same key: B starts at %d, A stopped at %d", first, last)
	}

	checkpointOnA("tampered")
	rewriteArchive(t, store, ns+"/tampered", func(name string, data []byte) ([]byte, bool) {
		if name == "config.dump" {
			return append(data, ' '), true
		}
		return data, true
	})
	if first := firstOnB("tampered"); first != 1 {
		t.Fatalf("a tampered image with a recomputed manifest was restored (count starts at %d)", first)
	}
	if !logHas(b.archLog(), `"id":"tampered"`, "signature does not match") {
		t.Fatalf("ARCH's log does not say why:\n%s", b.archLog())
	}
	must(t, b.Cleanup(ns, "tampered"))
	plain := newArchNode(t, "signed-none", store, "compression = none")
	plain.run(t, testbed.CCounterRef, "tampered", nil)
	waitLogAbove(t, plain.TaskLog(ns, "tampered"), 0)
	if first := logNumbers(t, plain.TaskLog(ns, "tampered"))[0]; first == 1 {
		t.Fatal("control: a node without the key did not restore the tampered image either; the test proves nothing")
	}

	checkpointOnA("src")
	checkpointOnA("dst")
	src, dst := keyDir(store, ns+"/src"), keyDir(store, ns+"/dst")
	m := manifest(t, store, ns+"/src")
	for _, name := range []string{"manifest.json", m["archive"].(map[string]any)["name"].(string)} {
		data, err := os.ReadFile(filepath.Join(src, name))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dst, name), data, 0o600))
	}
	if first := firstOnB("dst"); first != 1 {
		t.Fatalf("a manifest copied from another key was restored (count starts at %d)", first)
	}
	if !logHas(b.archLog(), `"id":"dst"`, "manifest is for key") {
		t.Fatalf("ARCH's log does not say why:\n%s", b.archLog())
	}
}
