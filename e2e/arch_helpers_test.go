package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// archNode is a containerd instance whose enabled containers run through
// ARCH, with the ARCH configuration it uses.
type archNode struct {
	*testbed.Instance
	arch    testbed.ArchEnv
	wrapper string
}

// newArchNode starts a node whose ARCH store is store ("" = private).
// extraConf lines are appended to the ARCH configuration.
func newArchNode(t *testing.T, name, store string, extraConf string, opts ...testbed.Option) *archNode {
	t.Helper()
	testbed.Require(t)
	bins := testbed.Binaries(t)
	a := testbed.NewArchEnv(t, store)
	if extraConf != "" {
		appendConfig(t, a.Config, extraConf)
	}
	in := node(t, name, append(a.Options(t), opts...)...)
	// The exit watch of the poststop hook asks this node's containerd.
	appendConfig(t, a.Config, "containerd_address = "+in.Address)
	return &archNode{Instance: in, arch: a, wrapper: bins.Wrapper}
}

// appendConfig adds lines to an ARCH configuration file (read at every call).
func appendConfig(t *testing.T, path, lines string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString(lines + "\n")
	must(t, err)
	must(t, f.Close())
}

// run starts an enabled container through the wrapper.
func (n *archNode) run(t *testing.T, ref, id string, env map[string]string) {
	t.Helper()
	e := map[string]string{"ARCH_ENABLE": "1"}
	for k, v := range env {
		e[k] = v
	}
	must(t, n.Run(ns, ref, id, testbed.RunOpts{RuncBinary: n.wrapper, Env: e, Detach: true}))
	must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
}

// checkpointStop runs `ctr task checkpoint --exit` of an enabled container,
// waits until ARCH has stopped it and returns its task log's counts.
func (n *archNode) checkpointStop(t *testing.T, id string) []int {
	t.Helper()
	n.checkpointStopNoCount(t, id)
	return logNumbers(t, n.TaskLog(ns, id))
}

// checkpointStopNoCount is checkpointStop for a workload that is not a
// counter.
func (n *archNode) checkpointStopNoCount(t *testing.T, id string) {
	t.Helper()
	// An image path of its own: containerd 1.6 refuses a second checkpoint
	// of a container whose spec blob its content store already holds.
	_, err := n.Ctr(ns, "task", "checkpoint", "--exit", "--image-path", t.TempDir(), id)
	must(t, err)
	must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
}

// readBundleConfig reads the config.json of a container's bundle.
func readBundleConfig(t *testing.T, n *archNode, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(n.Rootfs(ns, id)), "config.json"))
	must(t, err)
	return string(b)
}

// remove deletes a stopped task and its container.
func (n *archNode) remove(t *testing.T, id string) {
	t.Helper()
	if _, err := n.DeleteTask(ns, id); err != nil {
		t.Fatal(err)
	}
	must(t, n.Do(ns, "container", "rm", id))
}

// archLog returns ARCH's log of this node.
func (n *archNode) archLog() string {
	b, _ := os.ReadFile(n.arch.LogFile)
	return string(b)
}

// keyDir is the store folder of a key.
func keyDir(store, key string) string {
	return filepath.Join(store, strings.ReplaceAll(key, "/", "%2F"))
}

// manifest reads the current manifest of a key (nil when there is none).
func manifest(t *testing.T, store, key string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(keyDir(store, key), "manifest.json"))
	if os.IsNotExist(err) {
		return nil
	}
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	return m
}

// archivePath is the archive the current manifest of key names.
func archivePath(t *testing.T, store, key string) string {
	t.Helper()
	m := manifest(t, store, key)
	if m == nil {
		t.Fatalf("no image for key %s", key)
	}
	return filepath.Join(keyDir(store, key), m["archive"].(map[string]any)["name"].(string))
}

// logNumbers parses a counter's task log: one integer per line.
func logNumbers(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return parseCounts(t, path, strings.Fields(string(b)))
}

// parseCounts parses a counter's output lines (of what, for messages): every
// line must be a count.
func parseCounts(t *testing.T, what string, lines []string) []int {
	t.Helper()
	var nums []int
	for _, l := range lines {
		v, err := strconv.Atoi(strings.TrimSpace(l))
		if err != nil {
			t.Fatalf("%s has a line that is not a count: %q", what, l)
		}
		nums = append(nums, v)
	}
	return nums
}

// waitCounts polls read (the counts of what) until the last count exceeds
// n, and returns the counts.
func waitCounts(t *testing.T, what string, n int, read func() []int) []int {
	t.Helper()
	var nums []int
	testbed.Eventually(t, countTimeout, func() error {
		if nums = read(); len(nums) == 0 || nums[len(nums)-1] <= n {
			return fmt.Errorf("%s: %d counts, waiting for one above %d", what, len(nums), n)
		}
		return nil
	})
	return nums
}

// waitLogAbove polls until the task log's last count exceeds n and returns
// it. Only the last line is read: a log may start with something else (a
// failed restore's runc error, see TestFailedRestoreStartsFresh).
func waitLogAbove(t *testing.T, path string, n int) int {
	t.Helper()
	nums := waitCounts(t, path, n, func() []int {
		b, _ := os.ReadFile(path)
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return nil
		}
		last, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			return nil
		}
		return []int{last}
	})
	return nums[len(nums)-1]
}

// consecutive checks that nums is 1, 2, 3, ... without reset or gap.
func consecutive(nums []int) error {
	for i, v := range nums {
		if v != i+1 {
			return fmt.Errorf("count %d at position %d (expected %d): %v", v, i+1, i+1, around(nums, i))
		}
	}
	return nil
}

func around(nums []int, i int) []int {
	lo, hi := max(0, i-3), min(len(nums), i+4)
	return nums[lo:hi]
}

// mustHaveStreamedArchive checks, from ARCH's log, that the checkpoint of
// id wrote CRIU's pages files into the archive while CRIU dumped them
// (pkg/ckpt's follower), without falling back to writing the archive after
// the dump: what real CRIU does is what the follower expects.
func mustHaveStreamedArchive(t *testing.T, n *archNode, id string) {
	t.Helper()
	found := false
	for _, line := range strings.Split(n.archLog(), "\n") {
		var m struct {
			ID     string `json:"id"`
			Msg    string `json:"msg"`
			Phases struct {
				Archive struct {
					Streamed float64 `json:"streamed_bytes"`
					Fallback string  `json:"fallback"`
				} `json:"archive"`
			} `json:"phases"`
		}
		if json.Unmarshal([]byte(line), &m) != nil || m.ID != id || m.Msg != "checkpoint committed, container stopped" {
			continue
		}
		found = true
		if a := m.Phases.Archive; a.Streamed <= 0 || a.Fallback != "" {
			t.Fatalf("checkpoint of %s: %v bytes streamed during the dump, fallback %q:\n%s", id, a.Streamed, a.Fallback, line)
		}
	}
	if !found {
		t.Fatalf("no committed checkpoint of %s in ARCH's log:\n%s", id, n.archLog())
	}
}
