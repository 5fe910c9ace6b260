package drain

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)

// sampleReport has one result of each state.
func sampleReport() *Report {
	rs := []Result{
		{Namespace: "batch", ID: "job", Key: "jobs/1", State: Checkpointed, ImageID: "20250314T100001.000000000Z-0a0b0c0d", Size: 3 << 20, Start: t0, End: t0.Add(1500 * time.Millisecond)},
		{Namespace: "e2e", ID: "broken", Key: "e2e/broken", State: Failed, Reason: "containerd checkpoint: commit: not a directory", Start: t0, End: t0.Add(400 * time.Millisecond)},
		{Namespace: "e2e", ID: "late", Key: "e2e/late", State: NotStarted, Reason: ReasonDeadline},
		{Namespace: "e2e", ID: "plain", State: Skipped, Reason: "not enabled: ARCH_ENABLE is not set in the container environment"},
	}
	return &Report{Started: t0, Finished: t0.Add(2 * time.Second), Deadline: t0.Add(110 * time.Second), Parallel: 4, Results: rs, Counts: countResults(rs)}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines; want header, 4 rows, totals:\n%s", len(lines), buf.String())
	}
	want := []string{
		`^CONTAINER +KEY +SIZE +TIME +RESULT$`,
		`^batch/job +jobs/1 +3\.0 MiB +1\.5s +checkpointed \(image 20250314T100001\.000000000Z-0a0b0c0d\)$`,
		`^e2e/broken +e2e/broken +- +400ms +FAILED: containerd checkpoint: commit: not a directory$`,
		`^e2e/late +e2e/late +- +- +not started: deadline$`,
		`^e2e/plain +- +- +- +skipped: not enabled: ARCH_ENABLE is not set in the container environment$`,
		`^1 checkpointed, 1 failed, 1 not started, 1 skipped; 2s with 4 in parallel, 1m48s before the deadline$`,
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d: %q does not match %s", i, lines[i], re)
		}
	}
	// Columns line up: RESULT starts at the same offset in every row.
	col := strings.Index(lines[0], "RESULT")
	for _, l := range lines[1:5] {
		if !strings.Contains("cFns", string(l[col])) {
			t.Errorf("RESULT column misaligned in %q", l)
		}
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Parallel int
		Deadline time.Time
		Counts   Counts
		Results  []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if got.Parallel != 4 || !got.Deadline.Equal(t0.Add(110*time.Second)) || got.Counts != (Counts{1, 1, 1, 1}) || len(got.Results) != 4 {
		t.Fatalf("report %+v", got)
	}
	first := got.Results[0]
	if first["state"] != "checkpointed" || first["size"] != float64(3<<20) || first["start"] != "2025-03-14T10:00:00Z" || first["end"] != "2025-03-14T10:00:01.5Z" {
		t.Fatalf("first result %v", first)
	}
	if _, has := got.Results[3]["start"]; has {
		t.Fatalf("a skipped result has a start time: %v", got.Results[3])
	}
	if got.Results[2]["reason"] != ReasonDeadline {
		t.Fatalf("not-started result %v", got.Results[2])
	}
}

func TestLines(t *testing.T) {
	var buf bytes.Buffer
	l := NewLines(&buf)
	rep := sampleReport()
	tg := Target{Namespace: "batch", ID: "job", Key: "jobs/1"}
	l.Observe(Event{Index: 0, Target: tg, Phase: PhaseQueued, Time: t0})
	l.Observe(Event{Index: 0, Target: tg, Phase: PhaseCheckpointing, Time: t0})
	l.Observe(Event{Index: 0, Target: tg, Phase: PhaseProgress, Bytes: 1 << 20, Time: t0.Add(time.Second)}) // too soon
	l.Observe(Event{Index: 0, Target: tg, Phase: PhaseProgress, Bytes: 2 << 20, Time: t0.Add(6 * time.Second)})
	l.Observe(Event{Index: 0, Target: tg, Phase: PhaseDone, Time: t0.Add(7 * time.Second), Result: &rep.Results[0]})
	l.Observe(Event{Index: 1, Target: Target{Namespace: "e2e", ID: "broken"}, Phase: PhaseFailed, Time: t0, Result: &rep.Results[1]})
	l.Observe(Event{Index: 2, Target: Target{Namespace: "e2e", ID: "late"}, Phase: PhaseNotStarted, Time: t0, Result: &rep.Results[2]})
	l.Observe(Event{Index: 3, Target: Target{Namespace: "e2e", ID: "plain"}, Phase: PhaseSkipped, Time: t0, Result: &rep.Results[3]})
	want := `10:00:00.000 batch/job: queued, key jobs/1
10:00:00.000 batch/job: checkpointing
10:00:06.000 batch/job: checkpointing: 2.0 MiB written
10:00:07.000 batch/job: done: image 20250314T100001.000000000Z-0a0b0c0d, 3.0 MiB in 1.5s
10:00:00.000 e2e/broken: FAILED after 400ms: containerd checkpoint: commit: not a directory
10:00:00.000 e2e/late: not started: deadline
10:00:00.000 e2e/plain: skipped: not enabled: ARCH_ENABLE is not set in the container environment
`
	if buf.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Fatal("plain lines contain terminal escapes")
	}
}

func TestLiveRedrawsInPlace(t *testing.T) {
	b := NewBoard()
	ts := targets("e2e", 3)
	ts = append(ts, Target{Namespace: "e2e", ID: "plain", Skip: "not enabled"})
	for i, tg := range ts {
		b.Observe(Event{Index: i, Target: tg, Phase: PhaseQueued, Time: t0})
	}
	b.Observe(Event{Index: 3, Target: ts[3], Phase: PhaseSkipped, Time: t0, Result: &Result{State: Skipped, Reason: "not enabled"}})
	b.Observe(Event{Index: 0, Target: ts[0], Phase: PhaseCheckpointing, Time: t0})
	b.Observe(Event{Index: 1, Target: ts[1], Phase: PhaseCheckpointing, Time: t0})
	b.Observe(Event{Index: 0, Target: ts[0], Phase: PhaseProgress, Bytes: 5 << 20})
	var buf bytes.Buffer
	l := NewLive(&buf, b, t0.Add(110*time.Second), 0, 0)
	l.Draw(t0.Add(2 * time.Second))
	first := buf.String()
	want := "\x1b[2Kcheckpoint-all: 0 done, 2 running, 1 queued, 0 failed, 0 not started, 1 skipped; 1m48s to the deadline\n" +
		"\x1b[2K  e2e/c00     checkpointing     5.0 MiB  2s\n" +
		"\x1b[2K  e2e/c01     checkpointing     dumping  2s\n" +
		"\x1b[2K  e2e/c02     queued\n"
	if first != want {
		t.Fatalf("first frame:\n%q\nwant:\n%q", first, want)
	}
	buf.Reset()
	b.Observe(Event{Index: 0, Target: ts[0], Phase: PhaseDone, Time: t0.Add(3 * time.Second), Result: &Result{State: Checkpointed, Size: 6 << 20}})
	l.Draw(t0.Add(3 * time.Second))
	second := buf.String()
	if !strings.HasPrefix(second, "\r\x1b[4A\x1b[2K") || strings.Count(second, "\n") != 4 {
		t.Fatalf("second frame does not rewrite the 4 lines of the first in place: %q", second)
	}
	if !strings.Contains(second, "\x1b[2K  e2e/c00     done              6.0 MiB  3s\n") {
		t.Fatalf("second frame:\n%s", second)
	}
	if strings.Contains(first+second, "\x1b[J") {
		t.Fatal("the frame erases the screen (tmux then scrolls it into its history)")
	}
}

func TestLiveCutsLinesToTheWidth(t *testing.T) {
	b := NewBoard()
	tg := Target{Namespace: "e2e", ID: "a-container-with-a-long-name"}
	b.Observe(Event{Index: 0, Target: tg, Phase: PhaseCheckpointing, Time: t0})
	var buf bytes.Buffer
	NewLive(&buf, b, t0.Add(time.Minute), 0, 40).Draw(t0)
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if n := len(strings.TrimPrefix(line, "\x1b[2K")); n > 39 {
			t.Fatalf("line of %d columns on a 40-column terminal: %q", n, line)
		}
	}
}

func TestLiveFitsTheTerminal(t *testing.T) {
	b := NewBoard()
	ts := targets("e2e", 30)
	for i, tg := range ts {
		b.Observe(Event{Index: i, Target: tg, Phase: PhaseQueued, Time: t0})
	}
	b.Observe(Event{Index: 25, Target: ts[25], Phase: PhaseCheckpointing, Time: t0})
	var buf bytes.Buffer
	NewLive(&buf, b, t0.Add(time.Minute), 10, 0).Draw(t0)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) > 9 {
		t.Fatalf("%d lines on a 10-row terminal", len(lines))
	}
	if !strings.Contains(lines[1], "e2e/c25") || !strings.Contains(lines[len(lines)-1], "... and 23 more") {
		t.Fatalf("frame:\n%s", buf.String())
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 64 << 20: "64.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTableShowsTheAttempts(t *testing.T) {
	var buf strings.Builder
	rep := &Report{Parallel: 1, Results: []Result{
		{Namespace: "e2e", ID: "a", State: Checkpointed, ImageID: "img", Attempts: 2},
		{Namespace: "e2e", ID: "b", State: Failed, Reason: "unable to freeze", Attempts: 3},
		{Namespace: "e2e", ID: "c", State: Checkpointed, ImageID: "img2", Attempts: 1},
	}}
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"(image img, attempt 2)", "FAILED after 3 attempts: unable to freeze", "(image img2)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
}
