package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var allStates = []CheckpointState{CheckpointPending, CheckpointDumped, CheckpointCommitted, CheckpointKilled, CheckpointSettled, CheckpointFailed}

// The moves are exactly the documented ones: every other is refused and
// leaves the checkpoint as it was.
func TestCheckpointMovesOnlyAlongTheMachine(t *testing.T) {
	allowed := map[[2]CheckpointState]bool{
		{CheckpointPending, CheckpointDumped}: true, {CheckpointPending, CheckpointFailed}: true,
		{CheckpointDumped, CheckpointCommitted}: true, {CheckpointDumped, CheckpointSettled}: true, {CheckpointDumped, CheckpointFailed}: true,
		{CheckpointCommitted, CheckpointKilled}: true, {CheckpointCommitted, CheckpointSettled}: true, {CheckpointCommitted, CheckpointFailed}: true,
		{CheckpointKilled, CheckpointSettled}: true,
	}
	t0 := time.Unix(1000, 0)
	for _, from := range allStates {
		for _, to := range allStates {
			c := &Checkpoint{State: from, Changed: t0}
			err := c.To(to, t0.Add(time.Second))
			if want := allowed[[2]CheckpointState{from, to}]; want != (err == nil) {
				t.Errorf("%s -> %s: err = %v, want allowed=%v", from, to, err, want)
			}
			if err != nil && (c.State != from || !c.Changed.Equal(t0)) {
				t.Errorf("%s -> %s refused but changed the checkpoint: %+v", from, to, c)
			}
			if err == nil && (c.State != to || !c.Changed.Equal(t0.Add(time.Second))) {
				t.Errorf("%s -> %s: %+v", from, to, c)
			}
		}
	}
}

func TestACheckpointRunsToItsEnd(t *testing.T) {
	rec := &Record{ID: "c1"}
	now := time.Now()
	ck, err := rec.BeginCheckpoint(now, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if rec.CheckpointInFlight() != ck || (Container{Record: rec}).Phase() != PhaseCheckpointing {
		t.Fatal("a pending checkpoint is not in flight")
	}
	if _, err := rec.BeginCheckpoint(now, false, false); err == nil {
		t.Fatal("a second checkpoint began while one is in flight")
	}
	must(t, ck.To(CheckpointDumped, now))
	if err := ck.Commit("img1", now); err != nil || ck.ImageID != "img1" {
		t.Fatalf("commit: %v, %+v", err, ck)
	}
	must(t, ck.To(CheckpointKilled, now))
	if err := ck.Fail("too late", now); err == nil {
		t.Fatal("a killed checkpoint failed: its image stands")
	}
	must(t, ck.To(CheckpointSettled, now))
	if rec.CheckpointInFlight() != nil {
		t.Fatal("a settled checkpoint is still in flight")
	}
	if _, err := rec.BeginCheckpoint(now, false, false); err != nil {
		t.Fatalf("the next checkpoint: %v", err)
	}
}

func TestFailSaysWhy(t *testing.T) {
	rec := &Record{ID: "c1"}
	ck, _ := rec.BeginCheckpoint(time.Now(), false, false)
	must(t, ck.Fail("CRIU dump: exit 1", time.Now()))
	if ck.State != CheckpointFailed || ck.Reason != "CRIU dump: exit 1" || rec.CheckpointInFlight() != nil {
		t.Fatalf("%+v", ck)
	}
}

// The record stores the state; a record written by an ARCH from before
// the state machine (an upgrade with containers running) is read with its
// in-flight checkpoint as a state the settling knows.
func TestRecordStoresTheStateAndReadsTheLegacyForm(t *testing.T) {
	r := Records{Dir: t.TempDir()}
	rec := &Record{ID: "c1", Root: "/run/runc"}
	ck, _ := rec.BeginCheckpoint(time.Now(), true, false)
	must(t, ck.To(CheckpointDumped, time.Now()))
	must(t, r.Save(rec))
	got, err := r.Load("/run/runc", "c1")
	if err != nil || got.Checkpoint == nil || got.Checkpoint.State != CheckpointDumped || !got.Checkpoint.LeftStopped {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		imageID string
		want    CheckpointState
	}{{"", CheckpointDumped}, {"img7", CheckpointCommitted}} {
		p, _ := r.Path("/run/runc", "old")
		legacy := map[string]any{"version": 1, "id": "old", "root": "/run/runc",
			"checkpointing": map[string]any{"started": time.Now().UTC(), "imageID": tc.imageID, "froze": true}}
		data, _ := json.Marshal(legacy)
		os.MkdirAll(filepath.Dir(p), 0o700)
		must(t, os.WriteFile(p, data, 0o600))
		got, err := r.Load("/run/runc", "old")
		if err != nil {
			t.Fatal(err)
		}
		ck := got.CheckpointInFlight()
		if ck == nil || ck.State != tc.want || ck.ImageID != tc.imageID || !ck.Froze || got.Checkpointing != nil {
			t.Fatalf("legacy record with image %q read as %+v", tc.imageID, got.Checkpoint)
		}
	}
}

func TestContainerPhases(t *testing.T) {
	r := Records{Dir: t.TempDir()}
	if c := r.Lookup("/run/runc", "c1"); c.Enabled() || c.Phase() != PhaseNotARCH {
		t.Fatalf("no record: %+v %s", c, c.Phase())
	}
	if c := r.Lookup("/run/runc", "../x"); c.Enabled() {
		t.Fatalf("an invalid id is ARCH's: %+v", c)
	}
	rec := &Record{ID: "c1", Root: "/run/runc"}
	must(t, r.Adopt(rec))
	if _, err := os.Stat(r.EnabledMarker("c1")); err != nil {
		t.Fatalf("Adopt left no marker: %v", err)
	}
	phase := func() Phase { return r.Lookup("/run/runc", "c1").Phase() }
	if p := phase(); p != PhaseCreated {
		t.Fatalf("phase %s", p)
	}
	rec.SkipStart = true
	must(t, r.Save(rec))
	if p := phase(); p != PhaseRestored {
		t.Fatalf("phase %s", p)
	}
	rec.SkipStart, rec.SkipResume = false, true
	must(t, r.Save(rec))
	if p := phase(); p != PhaseCheckpointed {
		t.Fatalf("phase %s", p)
	}
	p, _ := r.Path("/run/runc", "c1")
	must(t, os.WriteFile(p, []byte("{not json"), 0o600))
	c := r.Lookup("/run/runc", "c1")
	if !c.Enabled() || c.Err == nil || c.Phase() != PhaseUnknown {
		t.Fatalf("unreadable record: %+v %s", c, c.Phase())
	}
}

func TestFindByBundle(t *testing.T) {
	r := Records{Dir: t.TempDir()}
	b := t.TempDir()
	must(t, r.Save(&Record{ID: "c1", Root: "/run/a", Bundle: b}))
	must(t, r.Save(&Record{ID: "c1", Root: "/run/b", Bundle: "/elsewhere"}))
	got := r.Find("c1", b+"/")
	if len(got) != 1 || got[0].Root != "/run/a" {
		t.Fatalf("Find = %+v", got)
	}
	if got := r.Find("*", b); got != nil {
		t.Fatalf("a pattern as id: %+v", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
