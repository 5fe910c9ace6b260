package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An enabled container's detached exec and its pause reach runc holding
// ARCH's freeze lock (runc 1.1 hangs when an exec races a freeze), through
// the C fast path too; an attached exec and other containers' calls do not
// take it. The fake runc reports whether the lock is held while it runs.
func TestExecAndPauseOfAnEnabledContainerHoldTheFreezeLock(t *testing.T) {
	n := newNode(t, "")
	report := filepath.Join(t.TempDir(), "held")
	f := newFakeRunc(t, `case "$3" in exec|pause)
  for l in `+n.state+`/containers/*/c1.json.freeze.lock; do
    if [ -e "$l" ] && ! flock -n -x "$l" true; then echo "$3 held" >> `+report+`; else echo "$3 free" >> `+report+`; fi
  done;;
esac`)
	b := bundle(t, "ARCH_ENABLE=1")
	env := []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}
	run(t, env, createArgs(filepath.Join(b, "log.json"), b, "c1")...)
	if _, err := os.Stat(filepath.Join(n.state, "enabled", "c1")); err != nil {
		t.Fatalf("no fast-path marker for the enabled container: %v", err)
	}
	root := []string{"--root", "/run/containerd/runc/default"}
	calls := [][]string{
		{"exec", "--process", "/tmp/p.json", "--detach", "--pid-file", "/tmp/e.pid", "c1"},
		{"exec", "--process", "/tmp/p.json", "c1"}, // attached: may last for hours
		{"pause", "c1"},
		{"exec", "--process", "/tmp/p.json", "--detach", "--pid-file", "/tmp/e.pid", "c2"}, // not enabled
	}
	for _, fast := range []string{"", "1"} { // with and without the C fast path
		os.Remove(report)
		for _, c := range calls {
			if res := run(t, append(env, "ARCH_NO_FASTPATH="+fast), append(root, c...)...); res.code != 0 {
				t.Fatalf("%v: %+v", c, res)
			}
		}
		got, _ := os.ReadFile(report)
		if want := "exec held\nexec free\npause held\nexec free\n"; string(got) != want {
			t.Fatalf("ARCH_NO_FASTPATH=%q: lock while runc ran:\n%s\nwant:\n%s", fast, got, want)
		}
	}
	// delete forgets the marker with the record.
	run(t, env, append(root, "delete", "c1")...)
	if _, err := os.Stat(filepath.Join(n.state, "enabled", "c1")); !os.IsNotExist(err) {
		t.Fatalf("the marker outlives the container: %v", err)
	}
	if log := readFile(t, n.log); strings.Contains(log, "cannot take the freeze lock") {
		t.Fatalf("lock trouble:\n%s", log)
	}
}
