package drain

import (
	"github.com/arch-ckpt/arch/pkg/saferoot"

	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/state"
)

func specWith(env ...string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Args: []string{"/counter"}, Env: append([]string{"PATH=/bin"}, env...)}}
}

// testNode is a node configuration in a temporary folder, with a record
// for container "recorded" of namespace "e2e" under runc root /r.
func testNode(t *testing.T) Node {
	t.Helper()
	dir := t.TempDir()
	n := Node{Allowed: saferoot.Allowed{Store: filepath.Join(dir, "store")}, StateDir: filepath.Join(dir, "state")}
	rec := &state.Record{ID: "recorded", Root: "/r/e2e", Namespace: "e2e", Key: "jobs/42", Store: "/shared/ckpt"}
	if err := (state.Records{Dir: filepath.Join(n.StateDir, "containers")}).Save(rec); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClassify(t *testing.T) {
	n := testNode(t)
	enabled := Candidate{Namespace: "e2e", ID: "recorded", Runtime: RuncV2, RuncRoot: "/r", Spec: specWith("ARCH_ENABLE=1"), Task: TaskRunning}
	for _, tc := range []struct {
		name string
		edit func(c *Candidate)
		skip string // substring; "" = checkpointed
	}{
		{"enabled, running, recorded", func(c *Candidate) {}, ""},
		{"paused", func(c *Candidate) { c.Task = TaskPaused }, ""},
		{"not enabled", func(c *Candidate) { c.Spec = specWith() }, "not enabled: ARCH_ENABLE"},
		{"bad key", func(c *Candidate) { c.Spec = specWith("ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=../x") }, "enabled but ARCH cannot serve it: checkpoint key"},
		{"no task", func(c *Candidate) { c.Task = "" }, "no task"},
		{"stopped", func(c *Candidate) { c.Task = "stopped" }, "task stopped"},
		{"other runtime", func(c *Candidate) { c.Runtime = "io.containerd.runtime.v1.linux" }, "only io.containerd.runc.v2"},
		{"no record: other runc root", func(c *Candidate) { c.RuncRoot = "" }, "arch-wrapper has no record of it"},
		{"no record: other id", func(c *Candidate) { c.ID = "other" }, "arch-wrapper has no record of it"},
		{"no spec", func(c *Candidate) { c.Spec = nil }, "cannot read its OCI spec"},
	} {
		c := enabled
		tc.edit(&c)
		got := Classify(c, n)
		if tc.skip == "" {
			if got.Skip != "" {
				t.Errorf("%s: skipped: %s", tc.name, got.Skip)
			}
		} else if !strings.Contains(got.Skip, tc.skip) {
			t.Errorf("%s: skip %q; want it to say %q", tc.name, got.Skip, tc.skip)
		}
	}
}

func TestClassifyTakesKeyAndStoreFromTheRecord(t *testing.T) {
	n := testNode(t)
	got := Classify(Candidate{Namespace: "e2e", ID: "recorded", Runtime: RuncV2, RuncRoot: "/r", Spec: specWith("ARCH_ENABLE=1"), Task: TaskRunning}, n)
	if got.Key != "jobs/42" || got.Store != "/shared/ckpt" {
		t.Fatalf("key %q store %q; want the record's", got.Key, got.Store)
	}
	// Not enabled: the spec's decision, no record needed.
	got = Classify(Candidate{Namespace: "batch", ID: "x", Runtime: RuncV2, Spec: specWith("ARCH_ENABLE=1"), Task: "stopped"}, n)
	if got.Key != "batch/x" || got.Store != n.Allowed.Store {
		t.Fatalf("key %q store %q; want Decide's", got.Key, got.Store)
	}
}
