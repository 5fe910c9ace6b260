package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// tcpNode is an ARCH node with the TCP app image imported.
func tcpNode(t *testing.T, name, store, conf string) *archNode {
	t.Helper()
	n := newArchNode(t, name, store, conf)
	must(t, n.Import(ns, testbed.TCPAppImage(t)))
	return n
}

// tcpLog is what the TCP app's client printed: its pongs in order, and
// the reconnects (with their line numbers).
type tcpLog struct {
	pongs      []int
	reconnects []string
	lines      []string
}

func readTCPLog(t *testing.T, path string) tcpLog {
	t.Helper()
	b, _ := os.ReadFile(path)
	var l tcpLog
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		l.lines = append(l.lines, line)
		switch f := strings.Fields(line); {
		case len(f) == 2 && f[0] == "pong":
			if v, err := strconv.Atoi(f[1]); err == nil {
				l.pongs = append(l.pongs, v)
			}
		case len(f) > 0 && f[0] == "reconnect":
			l.reconnects = append(l.reconnects, line)
		}
	}
	return l
}

// waitPongsAbove polls the client's log until a pong above n shows.
func waitPongsAbove(t *testing.T, path string, n int) tcpLog {
	t.Helper()
	var l tcpLog
	testbed.Eventually(t, countTimeout, func() error {
		l = readTCPLog(t, path)
		if len(l.pongs) == 0 || l.pongs[len(l.pongs)-1] <= n {
			return fmt.Errorf("%s: waiting for a pong above %d; last lines %q", path, n, tail(l.lines, 3))
		}
		return nil
	})
	return l
}

func tail(s []string, n int) []string { return s[max(0, len(s)-n):] }

// probe asks the container's server for an answer on 127.0.0.1.
func probe(t *testing.T, n *archNode, id string) string {
	t.Helper()
	res, err := n.Exec(ns, id, "/tcpapp", "probe", testbed.TCPAppPort)
	must(t, err)
	return strings.TrimSpace(res.Stdout)
}

// netns makes a named network namespace, as an orchestrator would (a pod's,
// ECS awsvpc), with its loopback up; removed when the test ends.
func netns(t *testing.T, name string) string {
	t.Helper()
	for _, args := range [][]string{{"netns", "add", name}, {"-n", name, "link", "set", "lo", "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", name).Run() })
	return "/var/run/netns/" + name
}

// TestListeningServerAnswersAfterMigration migrates a server listening on
// 127.0.0.1 to another node under a new container id: it answers there,
// in a network namespace runc created (ARCH brings its loopback up, as a
// fresh create would) and in one the orchestrator made beforehand (which
// ARCH leaves alone).
func TestListeningServerAnswersAfterMigration(t *testing.T) {
	store := testbed.SharedFolder(t)
	a := tcpNode(t, "tcp-a", store, "")
	b := tcpNode(t, "tcp-b", store, "")
	server := []string{"/tcpapp", "server", testbed.TCPAppPort}
	for _, tc := range []struct {
		name     string
		nsA, nsB string
	}{
		{name: "runc-created netns"},
		{name: "netns made beforehand", nsA: netns(t, "arch-e2e-srv-a"), nsB: netns(t, "arch-e2e-srv-b")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "tcp/" + strings.ReplaceAll(tc.name, " ", "-")
			run := func(n *archNode, id, netnsPath string) {
				o := testbed.RunOpts{RuncBinary: n.wrapper, Detach: true, Cmd: server,
					Env: map[string]string{"ARCH_ENABLE": "1", "ARCH_CHECKPOINT_KEY": key}}
				if netnsPath != "" {
					o.Args = []string{"--with-ns", "network:" + netnsPath}
				}
				must(t, n.Run(ns, testbed.TCPAppRef, id, o))
				must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
			}
			idA, idB := "srv-a-"+fmt.Sprint(len(tc.nsA)), "srv-b-"+fmt.Sprint(len(tc.nsB))
			run(a, idA, tc.nsA)
			testbed.Eventually(t, countTimeout, func() error {
				if got := probe(t, a, idA); got != "pong probe" {
					return fmt.Errorf("server on A: %q", got)
				}
				return nil
			})
			a.checkpointStopNoCount(t, idA)
			mustHaveStreamedArchive(t, a, idA)
			a.remove(t, idA)

			run(b, idB, tc.nsB)
			if !logHas(b.archLog(), `"id":"`+idB+`"`, "create turned into restore") {
				t.Fatalf("not restored on B:\n%s", b.archLog())
			}
			if got := probe(t, b, idB); got != "pong probe" {
				t.Fatalf("the restored server does not answer on 127.0.0.1: %q", got)
			}
			var spec struct {
				Hooks map[string][]struct{ Args []string } `json:"hooks"`
			}
			must(t, json.Unmarshal([]byte(readBundleConfig(t, b, idB)), &spec))
			hooked := false
			for _, h := range spec.Hooks["createRuntime"] {
				hooked = hooked || slices.Contains(h.Args, "loopback")
			}
			raised := logHas(b.archLog(), `"hook":"loopback"`, `"id":"`+idB+`"`, `"changed":true`)
			if want := tc.nsB == ""; raised != want || hooked {
				t.Fatalf("lo brought up by the loopback hook: %t, want %t (only in a namespace runc creates); the hook left in config.json: %t\n%s", raised, want, hooked, b.archLog())
			}
			must(t, b.Cleanup(ns, idB))
		})
	}
}

// TestEstablishedConnectionComesBackClosed checkpoints a client holding an
// established connection to its server (tcp_established = close, the
// default) and restores it on another node: the client sees its connection
// closed, reconnects, and goes on with its sequence.
func TestEstablishedConnectionComesBackClosed(t *testing.T) {
	store := testbed.SharedFolder(t)
	a := tcpNode(t, "conn-a", store, "")
	b := tcpNode(t, "conn-b", store, "")
	env := map[string]string{"ARCH_CHECKPOINT_KEY": "tcp/client"}
	a.run(t, testbed.TCPAppRef, "client-a", env)
	waitPongsAbove(t, a.TaskLog(ns, "client-a"), 5)
	a.checkpointStopNoCount(t, "client-a")
	before := readTCPLog(t, a.TaskLog(ns, "client-a"))
	last := before.pongs[len(before.pongs)-1]
	a.remove(t, "client-a")

	b.run(t, testbed.TCPAppRef, "client-b", env)
	if !logHas(b.archLog(), `"id":"client-b"`, "create turned into restore") {
		t.Fatalf("not restored on B:\n%s", b.archLog())
	}
	after := waitPongsAbove(t, b.TaskLog(ns, "client-b"), last+5)
	if len(after.reconnects) == 0 {
		t.Fatalf("the restored client never saw its connection closed: %q", tail(after.lines, 10))
	}
	if first := after.pongs[0]; first != last+1 {
		t.Fatalf("the restored client's sequence starts at %d; it stopped at %d on A", first, last)
	}
	t.Logf("A stopped at pong %d; B: %s, then pongs %d..%d", last, after.reconnects[0], after.pongs[0], after.pongs[len(after.pongs)-1])
}

// TestTCPEstablishedKeepOnTheSameNode: with tcp_established = keep the
// connection is dumped and restored as it was (both ends are in the
// container, restored together): no reconnect.
func TestTCPEstablishedKeepOnTheSameNode(t *testing.T) {
	n := tcpNode(t, "conn-keep", "", "tcp_established = keep")
	n.run(t, testbed.TCPAppRef, "keep", nil)
	waitPongsAbove(t, n.TaskLog(ns, "keep"), 5)
	n.checkpointStopNoCount(t, "keep")
	last := readTCPLog(t, n.TaskLog(ns, "keep")).pongs
	n.remove(t, "keep")
	os.Remove(n.TaskLog(ns, "keep"))
	n.run(t, testbed.TCPAppRef, "keep", nil)
	after := waitPongsAbove(t, n.TaskLog(ns, "keep"), last[len(last)-1]+5)
	if len(after.reconnects) != 0 || after.pongs[0] != last[len(last)-1]+1 {
		t.Fatalf("the connection did not survive: %q", tail(after.lines, 10))
	}
}

// TestTCPEstablishedRefuseKeepsTodaysBehaviour: with tcp_established =
// refuse, a container holding an established connection cannot be
// checkpointed: the checkpoint fails, the container keeps running, and the
// store has no image.
func TestTCPEstablishedRefuseKeepsTodaysBehaviour(t *testing.T) {
	n := tcpNode(t, "conn-refuse", "", "tcp_established = refuse")
	n.run(t, testbed.TCPAppRef, "refuse", nil)
	l := waitPongsAbove(t, n.TaskLog(ns, "refuse"), 3)
	if _, err := n.TaskCheckpoint(ns, "refuse", true); err == nil {
		t.Fatal("the checkpoint of an established connection succeeded with tcp_established = refuse")
	}
	waitPongsAbove(t, n.TaskLog(ns, "refuse"), l.pongs[len(l.pongs)-1]+5)
	if m := manifest(t, n.arch.Store, ns+"/refuse"); m != nil {
		t.Fatalf("an image was kept: %v", m)
	}
}
