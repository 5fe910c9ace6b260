package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// fakeMetadata is an EC2 instance metadata service on loopback: IMDSv2
// tokens, no spot notice for the first polls, then a terminate notice.
type fakeMetadata struct {
	quietPolls int32 // instance-action polls answered 404 first
	notice     time.Time
	polls      atomic.Int32
	badToken   atomic.Int32
}

func (f *fakeMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing TTL", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "e2e-token")
	case r.Header.Get("X-aws-ec2-metadata-token") != "e2e-token":
		f.badToken.Add(1)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	case r.URL.Path == "/latest/meta-data/spot/instance-action":
		if f.polls.Add(1) <= f.quietPolls {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"action":"terminate","time":%q}`, f.notice.Format(time.RFC3339))
	default:
		http.NotFound(w, r) // no rebalance recommendation
	}
}

// TestSpotNoticeDrainsTheNode: watch-spot polls a fake metadata service;
// when it serves a spot interruption notice, the enabled containers are
// checkpointed (STOPPED, images in the store) with the deadline the
// notice allows, the plain one keeps running, and SIGTERM ends the watcher
// cleanly.
func TestSpotNoticeDrainsTheNode(t *testing.T) {
	n := newArchNode(t, "spot", "", "")
	cs := []counter{
		{ns: ns, id: "spot-0", ref: testbed.CCounterRef, enabled: true},
		{ns: ns, id: "spot-1", ref: testbed.ShellCounterRef, enabled: true},
		{ns: ns, id: "spot-plain", ref: testbed.CCounterRef},
	}
	for _, c := range cs {
		c.start(t, n)
	}
	counting(t, n, cs)
	md := &fakeMetadata{quietPolls: 3, notice: time.Now().Add(60 * time.Second).Truncate(time.Second)}
	srv := httptest.NewServer(md)
	defer srv.Close()

	cmd := exec.Command(testbed.Binaries(t).Hook, "watch-spot", "--endpoint", srv.URL, "--interval", "200ms",
		"--address", n.Address, "--config", n.arch.Config)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = []string{"PATH=" + testbed.DaemonPath}
	must(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
		t.Logf("watch-spot stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	}()

	testbed.Eventually(t, drainTimeout, func() error {
		if !strings.Contains(stderr.String(), "checkpoint-all exited with status") {
			return fmt.Errorf("watch-spot has not run checkpoint-all yet")
		}
		return nil
	})
	if !strings.Contains(stderr.String(), "checkpoint-all exited with status 0") {
		t.Fatal("checkpoint-all did not succeed")
	}
	for _, c := range cs[:2] {
		must(t, n.WaitStatus(c.ns, c.id, testbed.StatusStopped, statusTimeout))
		if manifest(t, n.arch.Store, c.name()) == nil {
			t.Fatalf("%s: no image in the store", c.name())
		}
	}
	if st, err := n.TaskStatus(ns, "spot-plain"); err != nil || st != testbed.StatusRunning {
		t.Fatalf("spot-plain: status %q, %v", st, err)
	}
	// The deadline is the notice time minus the default 10 s margin.
	m := regexp.MustCompile(`no checkpoint starts after (\S+) `).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatal("watch-spot did not log its deadline")
	}
	deadline, err := time.Parse(time.RFC3339, m[1])
	must(t, err)
	if want := md.notice.Add(-10 * time.Second); !deadline.Equal(want) {
		t.Fatalf("deadline %s; want the notice time minus 10 s, %s", deadline, want)
	}
	if md.badToken.Load() != 0 {
		t.Fatalf("%d metadata requests without the session token", md.badToken.Load())
	}

	must(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("watch-spot after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch-spot did not exit on SIGTERM")
	}
	if !strings.Contains(stdout.String(), "2 checkpointed, 0 failed, 0 not started, 1 skipped") {
		t.Fatal("watch-spot's checkpoint-all summary is missing")
	}
}
