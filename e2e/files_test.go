package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

const filesRef = "docker.io/arch-test/files:latest"

// filesScript is a workload whose state lives in files of its writable
// layer: a log kept open for append, a state file rewritten every tick, a
// tree with a symlink and a hardlink made at first start, a chmod of an
// image file and the deletion of another. With WORK set it also keeps
// WORK/out.txt open for append (the shared-filesystem work dir).
const filesScript = `trap 'exit 143' TERM
if [ ! -f /tmp/started ]; then
  mkdir -p /tmp/tree/a/b
  echo hello > /tmp/tree/a/b/file
  ln -s a/b/file /tmp/tree/link
  ln /tmp/tree/a/b/file /tmp/tree/hard
  chmod 0600 /data/seed.txt
  rm /data/gone.txt
  touch /tmp/started
fi
exec 3>>/tmp/app.log
if [ -n "$WORK" ]; then exec 4>>"$WORK/out.txt"; else exec 4>/dev/null; fi
i=0
while true; do
  i=$((i+1))
  echo "line $i" >&3
  echo "out $i" >&4
  echo $i >/tmp/state.tmp
  mv /tmp/state.tmp /tmp/state
  echo $i
  sleep 0.1
done`

func filesImage(t *testing.T) testbed.Image {
	files := testbed.BusyboxFiles(t)
	files["/app.sh"] = testbed.File{Content: []byte(filesScript), Mode: 0o755}
	files["/data"] = testbed.File{Dir: true}
	files["/data/seed.txt"] = testbed.File{Content: []byte("seed from the image\n"), Mode: 0o644}
	files["/data/gone.txt"] = testbed.File{Content: []byte("deleted by the workload\n"), Mode: 0o644}
	return testbed.BuildImage(t, filesRef, files, testbed.ImageConfig{
		Entrypoint: []string{"/bin/sh", "/app.sh"}, Env: []string{"PATH=/bin"}, WorkingDir: "/",
	})
}

// TestFilesTravelWithTheCheckpoint migrates the files workload from node A
// to node B under a new container id: the process goes on appending to its
// log at the right offset, and the tree, modes, links and deletions are
// identical on B.
func TestFilesTravelWithTheCheckpoint(t *testing.T) {
	store := t.TempDir()
	a := newArchNode(t, "files-a", store, "")
	b := newArchNode(t, "files-b", store, "")
	img := filesImage(t)
	must(t, a.Import(ns, img))
	must(t, b.Import(ns, img))
	env := map[string]string{"ARCH_CHECKPOINT_KEY": "jobs/files"}

	a.run(t, filesRef, "files-a", env)
	waitLogAbove(t, a.TaskLog(ns, "files-a"), 10)
	a.checkpointStop(t, "files-a")
	rootA := a.Rootfs(ns, "files-a")
	before := listTree(t, rootA, "tmp/tree", "data")
	logA := readLines(t, filepath.Join(rootA, "tmp/app.log"))
	lastA := logNumbers(t, a.TaskLog(ns, "files-a"))

	b.run(t, filesRef, "files-b", env)
	waitLogAbove(t, b.TaskLog(ns, "files-b"), lastA[len(lastA)-1]+5)
	rootB := b.Rootfs(ns, "files-b")
	if after := listTree(t, rootB, "tmp/tree", "data"); after != before {
		t.Fatalf("tree differs after the migration:\nnode A:\n%s\nnode B:\n%s", before, after)
	}
	if _, err := os.Lstat(filepath.Join(rootB, "data/gone.txt")); !os.IsNotExist(err) {
		t.Fatalf("the file the workload deleted is back on node B: %v", err)
	}
	logB := readLines(t, filepath.Join(rootB, "tmp/app.log"))
	if len(logB) <= len(logA) || strings.Join(logB[:len(logA)], "\n") != strings.Join(logA, "\n") {
		t.Fatalf("app.log on B does not extend A's (%d lines on A, %d on B)", len(logA), len(logB))
	}
	must(t, consecutiveLines(logB, "line "))
	if first := logNumbers(t, b.TaskLog(ns, "files-b"))[0]; first != lastA[len(lastA)-1]+1 {
		t.Fatalf("node B's count starts at %d, node A stopped at %d", first, lastA[len(lastA)-1])
	}
	must(t, a.Cleanup(ns, "files-a"))
	must(t, b.Cleanup(ns, "files-b"))
}

// TestSharedWorkDirMigration runs the workload in shared-filesystem mode:
// its work dir is <shared>/work/<escaped key>, bind-mounted by ARCH; after the
// migration it goes on writing there and the shared folder holds the
// complete output.
func TestSharedWorkDirMigration(t *testing.T) {
	shared := testbed.SharedFolder(t)
	a := newArchNode(t, "shared-a", "", "")
	b := newArchNode(t, "shared-b", "", "")
	img := filesImage(t)
	must(t, a.Import(ns, img))
	must(t, b.Import(ns, img))
	env := map[string]string{
		"ARCH_CHECKPOINT_KEY": "jobs/shared", "ARCH_SHAREDFS_HOST_PATH": shared,
		"ARCH_WORKDIR_CONTAINER_PATH": "/work", "WORK": "/work",
	}
	a.run(t, filesRef, "shared-a", env)
	out := filepath.Join(shared, "work", "jobs%2Fshared", "out.txt")
	waitLogAbove(t, a.TaskLog(ns, "shared-a"), 10)
	a.checkpointStop(t, "shared-a")
	if manifest(t, filepath.Join(shared, "checkpoint"), "jobs/shared") == nil {
		t.Fatal("no image under <shared>/checkpoint")
	}
	atCheckpoint := len(readLines(t, out))

	b.run(t, filesRef, "shared-b", env)
	waitLogAbove(t, b.TaskLog(ns, "shared-b"), atCheckpoint+5)
	lines := readLines(t, out)
	if len(lines) <= atCheckpoint {
		t.Fatalf("node B did not go on writing the shared work dir (%d lines)", len(lines))
	}
	must(t, consecutiveLines(lines, "out "))
	// The process's cwd is the work dir.
	res, err := b.Exec(ns, "shared-b", "sh", "-c", "readlink /proc/1/cwd")
	must(t, err)
	if strings.TrimSpace(res.Stdout) != "/work" {
		t.Fatalf("cwd of the restored process: %q", res.Stdout)
	}
	must(t, a.Cleanup(ns, "shared-a"))
	must(t, b.Cleanup(ns, "shared-b"))
}

// listTree describes the named subtrees of root: type, mode, owner, size,
// content hash, symlink target and hardlink groups, one line per entry.
func listTree(t *testing.T, root string, subtrees ...string) string {
	t.Helper()
	var lines []string
	inodes := map[uint64][]string{}
	for _, sub := range subtrees {
		err := filepath.WalkDir(filepath.Join(root, sub), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			info, err := os.Lstat(p)
			if err != nil {
				return err
			}
			st := info.Sys().(*syscall.Stat_t)
			line := fmt.Sprintf("%s %v uid=%d gid=%d", rel, info.Mode(), st.Uid, st.Gid)
			switch {
			case info.Mode()&os.ModeSymlink != 0:
				target, _ := os.Readlink(p)
				line += " -> " + target
			case info.Mode().IsRegular():
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(data)
				line += fmt.Sprintf(" size=%d sha256=%s nlink=%d", len(data), hex.EncodeToString(sum[:8]), st.Nlink)
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
			lines = append(lines, line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, group := range inodes {
		if len(group) > 1 {
			sort.Strings(group)
			lines = append(lines, "hardlinked: "+strings.Join(group, " = "))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func readLines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// consecutiveLines checks lines are prefix+"1", prefix+"2", ... without gap,
// duplicate or torn line.
func consecutiveLines(lines []string, prefix string) error {
	for i, l := range lines {
		if l != prefix+strconv.Itoa(i+1) {
			return fmt.Errorf("line %d is %q, want %q", i+1, l, prefix+strconv.Itoa(i+1))
		}
	}
	return nil
}

// TestOtherSnapshotterCheckpointsProcessStateOnly: with the native
// snapshotter the rootfs is no overlay, so ARCH cannot tell the writable
// layer apart: it says so in its log, and the process state alone still
// travels (the shell counter keeps no file of its own open).
func TestOtherSnapshotterCheckpointsProcessStateOnly(t *testing.T) {
	n := newArchNode(t, "native", "", "")
	id := "native"
	run := func() {
		must(t, n.Run(ns, testbed.ShellCounterRef, id, testbed.RunOpts{RuncBinary: n.wrapper,
			Env: map[string]string{"ARCH_ENABLE": "1"}, Detach: true, Args: []string{"--snapshotter", "native"}}))
		must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
	}
	run()
	waitLogAbove(t, n.TaskLog(ns, id), 5)
	last := n.checkpointStop(t, id)
	n.remove(t, id)
	if !logHas(n.archLog(), "files of the writable layer not captured", "not an overlay") {
		t.Fatalf("ARCH's log does not say the files were not captured:\n%s", n.archLog())
	}
	run()
	waitLogAbove(t, n.TaskLog(ns, id), last[len(last)-1]+3)
	must(t, consecutive(logNumbers(t, n.TaskLog(ns, id))))
	must(t, n.Cleanup(ns, id))
}
