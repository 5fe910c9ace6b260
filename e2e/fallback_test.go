package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// TestCorruptImageStartsFresh: an image that does not validate is never
// restored; the container starts fresh and ARCH's log says why.
func TestCorruptImageStartsFresh(t *testing.T) {
	cases := []struct {
		name    string
		conf    string // extra ARCH configuration
		corrupt func(t *testing.T, store, key string)
		inLog   string
	}{
		{"flipped byte", "", flipByte, "corrupt"},
		{"truncated archive", "", truncateArchive, "corrupt"},
		{"missing dump.log", "compression = none", dropDumpLog, "dump.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newArchNode(t, "corrupt", "", c.conf)
			id := "corrupt"
			key := ns + "/" + id
			logPath := n.TaskLog(ns, id)
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, 5)
			last := n.checkpointStop(t, id)
			n.remove(t, id)

			c.corrupt(t, n.arch.Store, key)
			n.run(t, testbed.CCounterRef, id, nil)
			waitLogAbove(t, logPath, 0)
			testbed.Eventually(t, countTimeout, func() error {
				if nums := logNumbers(t, logPath); len(nums) <= len(last) {
					return io.EOF
				}
				return nil
			})
			if next := logNumbers(t, logPath)[len(last)]; next != 1 {
				t.Fatalf("after a corrupted image the count went on at %d; want a fresh start at 1", next)
			}
			log := n.archLog()
			if !strings.Contains(log, "starting fresh") || !strings.Contains(log, c.inLog) {
				t.Fatalf("ARCH log does not give the reason (%q):\n%s", c.inLog, log)
			}
			must(t, n.Cleanup(ns, id))
		})
	}
}

func flipByte(t *testing.T, store, key string) {
	p := archivePath(t, store, key)
	b, err := os.ReadFile(p)
	must(t, err)
	b[len(b)/2] ^= 0x40
	must(t, os.WriteFile(p, b, 0o600))
}

func truncateArchive(t *testing.T, store, key string) {
	p := archivePath(t, store, key)
	st, err := os.Stat(p)
	must(t, err)
	must(t, os.Truncate(p, st.Size()/2))
}

// dropDumpLog removes the dump.log member of a plain-tar image (see
// rewriteArchive: the missing member is the only defect).
func dropDumpLog(t *testing.T, store, key string) {
	rewriteArchive(t, store, key, func(name string, data []byte) ([]byte, bool) { return data, name != "dump.log" })
}

// rewriteArchive rewrites a plain-tar image member by member (edit returns
// the new content and whether to keep the member) and fixes the manifest's
// sizes and checksums, so that only what edit did is wrong with the image.
func rewriteArchive(t *testing.T, store, key string, edit func(name string, data []byte) ([]byte, bool)) {
	t.Helper()
	p := archivePath(t, store, key)
	in, err := os.Open(p)
	must(t, err)
	var out bytes.Buffer
	tr, tw := tar.NewReader(in), tar.NewWriter(&out)
	sums := map[string][2]any{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		data, err := io.ReadAll(tr)
		must(t, err)
		data, keep := edit(h.Name, data)
		if !keep {
			continue
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(data))
			sum := sha256.Sum256(data)
			sums[h.Name] = [2]any{len(data), hex.EncodeToString(sum[:])}
		}
		must(t, tw.WriteHeader(h))
		_, err = tw.Write(data)
		must(t, err)
	}
	must(t, tw.Close())
	in.Close()
	must(t, os.WriteFile(p, out.Bytes(), 0o600))

	mp := filepath.Join(keyDir(store, key), "manifest.json")
	var m map[string]any
	b, err := os.ReadFile(mp)
	must(t, err)
	must(t, json.Unmarshal(b, &m))
	for _, mem := range m["members"].([]any) {
		mm := mem.(map[string]any)
		if s, ok := sums[mm["name"].(string)]; ok {
			mm["size"], mm["sha256"] = s[0], s[1]
		}
	}
	arch := m["archive"].(map[string]any)
	crc := crc32.Checksum(out.Bytes(), crc32.MakeTable(crc32.Castagnoli))
	arch["size"], arch["crc32c"] = out.Len(), fmt.Sprintf("%08x", crc)
	b, err = json.Marshal(m)
	must(t, err)
	must(t, os.WriteFile(mp, b, 0o600))
}

// TestCheckpointTimeoutLeavesContainerRunning: a CRIU that hangs is killed
// after checkpoint_timeout; the checkpoint fails with the reason, the
// container keeps running and the store holds no image.
func TestCheckpointTimeoutLeavesContainerRunning(t *testing.T) {
	fake := t.TempDir()
	must(t, os.WriteFile(filepath.Join(fake, "criu"), []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755))
	n := newArchNode(t, "hang", "", "checkpoint_timeout = 3s",
		testbed.WithEnv("PATH", fake+":"+testbed.DaemonPath))
	id := "hung"
	n.run(t, testbed.CCounterRef, id, nil)
	logPath := n.TaskLog(ns, id)
	waitLogAbove(t, logPath, 3)

	_, err := n.TaskCheckpoint(ns, id, false)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("checkpoint with a hung CRIU: err = %v; want a timeout reported to ctr", err)
	}
	must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
	now := logNumbers(t, logPath)
	waitLogAbove(t, logPath, now[len(now)-1]+3)
	if m := manifest(t, n.arch.Store, ns+"/"+id); m != nil {
		t.Fatalf("a timed-out checkpoint left an image: %v", m)
	}
	entries, _ := os.ReadDir(keyDir(n.arch.Store, ns+"/"+id))
	for _, e := range entries {
		if e.Name() != ".lock" {
			t.Fatalf("a timed-out checkpoint left %s in the store", e.Name())
		}
	}
	must(t, n.Cleanup(ns, id))
}

// TestFailedRestoreStartsFresh: when runc restore itself fails (here CRIU
// on node B cannot run), ARCH undoes the half-made container and runs the
// original create: the workload starts fresh and is RUNNING.
func TestFailedRestoreStartsFresh(t *testing.T) {
	store := t.TempDir()
	a := newArchNode(t, "ok-criu", store, "")
	fake := t.TempDir()
	must(t, os.WriteFile(filepath.Join(fake, "criu"), []byte("#!/bin/sh\necho broken criu >&2\nexit 1\n"), 0o755))
	b := newArchNode(t, "bad-criu", store, "",
		testbed.WithEnv("PATH", fake+":"+testbed.DaemonPath))
	env := map[string]string{"ARCH_CHECKPOINT_KEY": "jobs/fails-to-restore"}
	a.run(t, testbed.CCounterRef, "src", env)
	waitLogAbove(t, a.TaskLog(ns, "src"), 5)
	a.checkpointStop(t, "src")

	b.run(t, testbed.CCounterRef, "dst", env)
	waitLogAbove(t, b.TaskLog(ns, "dst"), 2)
	// runc restore prints its error on its stderr, which is the container's
	// (CRIU hands runc's stdio to the restored process): those lines (one
	// from runc 1.1, two from runc 1.5) precede the fresh count. See
	// README, Limits.
	raw, err := os.ReadFile(b.TaskLog(ns, "dst"))
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	for len(lines) > 0 && strings.Contains(strings.ToLower(lines[0]), "criu") {
		lines = lines[1:]
	}
	if len(lines) == 0 || lines[0] != "1" {
		t.Fatalf("after a failed restore the task log is %q; want a fresh count from 1", raw)
	}
	if log := b.archLog(); !strings.Contains(log, "restore failed, starting fresh") {
		t.Fatalf("node B's ARCH log does not report the failed restore:\n%s", log)
	}
	// The image is still there for a node that can restore it.
	if manifest(t, store, "jobs/fails-to-restore") == nil {
		t.Fatal("a failed restore removed the image")
	}
	must(t, a.Cleanup(ns, "src"))
	must(t, b.Cleanup(ns, "dst"))
}
