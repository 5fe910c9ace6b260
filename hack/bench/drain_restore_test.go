package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestTaskStatus(t *testing.T) {
	ls := "TASK       PID     STATUS    \npar-000    0       STOPPED\npar-001    4242    RUNNING\npar-0010   0       STOPPED\n"
	for id, want := range map[string]string{"par-000": "STOPPED", "par-001": "RUNNING", "par-01": ""} {
		if got := taskStatus(ls, id); got != want {
			t.Errorf("taskStatus(%q) = %q; want %q", id, got, want)
		}
	}
}

// The restores are told apart in ARCH's log from the offset on: the first
// start of the same id logged "starting fresh" too.
func TestRestoreOutcomes(t *testing.T) {
	log := filepath.Join(t.TempDir(), "arch.log")
	before := `{"level":"info","cmd":"create","id":"par-000","msg":"create: no usable checkpoint, starting fresh"}
{"level":"info","cmd":"create","id":"par-001","msg":"create: no usable checkpoint, starting fresh"}
{"level":"info","cmd":"checkpoint","id":"par-000","phases":{"dump":12.5,"commit":3,"total":20},"msg":"checkpoint committed, container stopped"}
{"level":"info","cmd":"checkpoint","id":"par-001","phases":{"dump":14.5,"commit":5,"total":30},"msg":"checkpoint committed, container stopped"}
{"level":"info","cmd":"checkpoint","id":"seq-000","phases":{"dump":99,"commit":99,"total":999},"msg":"checkpoint committed, container stopped"}
`
	after := `not json
{"level":"info","cmd":"create","id":"par-000","phases":{"unpack":7},"msg":"create turned into restore"}
{"level":"warn","cmd":"create","id":"par-001","msg":"restore failed, starting fresh"}
`
	if err := os.WriteFile(log, []byte(before+after), 0o644); err != nil {
		t.Fatal(err)
	}
	restored, fresh := restoreOutcomes(log, int64(len(before)))
	if !reflect.DeepEqual(restored, map[string]bool{"par-000": true}) || !reflect.DeepEqual(fresh, map[string]bool{"par-001": true}) {
		t.Errorf("restored %v, fresh %v", restored, fresh)
	}
	names, med, lines := phaseMedians(log, "checkpoint committed, container stopped", []string{"par-000", "par-001"})
	if lines != 2 || !reflect.DeepEqual(names, []string{"total", "dump", "commit"}) {
		t.Fatalf("names %v, %d lines", names, lines)
	}
	if med["total"] != 25*time.Millisecond || med["dump"] != 13500*time.Microsecond || med["commit"] != 4*time.Millisecond {
		t.Errorf("medians %v", med)
	}
}

func TestForEach(t *testing.T) {
	var running, most int32
	ch := make(chan int32, 100)
	items := []string{"a", "b", "c", "d", "e", "f", "g"}
	errs := forEach(items, 3, func(s string) error {
		ch <- 1
		defer func() { ch <- -1 }()
		time.Sleep(5 * time.Millisecond)
		if s == "c" || s == "f" {
			return os.ErrNotExist
		}
		return nil
	})
	close(ch)
	for d := range ch {
		running += d
		most = max(most, running)
	}
	if most > 3 || most < 2 {
		t.Errorf("at most %d at once; want 2 to 3", most)
	}
	if n, first := failures(errs); n != 2 || first != os.ErrNotExist || errs[2] == nil || errs[5] == nil {
		t.Errorf("failures = %d, %v (%v)", n, first, errs)
	}
}
