package drain

import (
	"context"
	"errors"
	"testing"
	"time"
)

type fakeSource struct {
	cands []Candidate
	err   error
}

func (f fakeSource) Candidates(context.Context, []string) ([]Candidate, error) { return f.cands, f.err }

func TestRunSortsClassifiesAndCounts(t *testing.T) {
	n := testNode(t)
	src := fakeSource{cands: []Candidate{
		{Namespace: "e2e", ID: "zz", Runtime: RuncV2, Spec: specWith(), Task: TaskRunning},
		{Namespace: "e2e", ID: "recorded", Runtime: RuncV2, RuncRoot: "/r", Spec: specWith("ARCH_ENABLE=1"), Task: TaskRunning},
		{Namespace: "batch", ID: "aa", Runtime: RuncV2, Spec: specWith("ARCH_ENABLE=1"), Task: "stopped"},
	}}
	cp := &fakeCheckpointer{}
	rep, err := Run(context.Background(), src, cp, Options{Node: n, Parallel: 2, Deadline: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name()+":"+string(r.State))
	}
	want := []string{"batch/aa:skipped", "e2e/recorded:checkpointed", "e2e/zz:skipped"}
	if len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Fatalf("results %v; want %v", names, want)
	}
	if rep.Counts != (Counts{Checkpointed: 1, Skipped: 2}) || !rep.OK() || rep.Parallel != 2 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Results[1].Key != "jobs/42" {
		t.Fatalf("key %q", rep.Results[1].Key)
	}
}

func TestRunReportsListingErrors(t *testing.T) {
	_, err := Run(context.Background(), fakeSource{err: errors.New("connection refused")}, &fakeCheckpointer{}, Options{Deadline: time.Now().Add(time.Minute)})
	if err == nil {
		t.Fatal("no error")
	}
}

func TestReportOK(t *testing.T) {
	for _, tc := range []struct {
		c  Counts
		ok bool
	}{{Counts{Checkpointed: 3, Skipped: 2}, true}, {Counts{Failed: 1}, false}, {Counts{NotStarted: 1}, false}, {Counts{}, true}} {
		if got := (&Report{Counts: tc.c}).OK(); got != tc.ok {
			t.Errorf("%+v: OK %v", tc.c, got)
		}
	}
}
