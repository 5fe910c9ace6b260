package archlog

import (
	"encoding/json"
	"github.com/rs/zerolog"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRuncErrorIsWhatContainerdDecodes decodes the line the way containerd's
// getLastRuntimeError does: level, msg, and an RFC3339 time.
func TestRuncErrorIsWhatContainerdDecodes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log.json")
	os.WriteFile(p, []byte(`{"level":"info","msg":"earlier","time":"2026-01-01T00:00:00Z"}`+"\n"), 0o644)
	if err := RuncLog(p, "error", "arch: real runc not found"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the earlier line kept and one appended, got %q", data)
	}
	var e struct {
		Level string    `json:"level"`
		Msg   string    `json:"msg"`
		Time  time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil {
		t.Fatalf("containerd could not decode %q: %v", lines[1], err)
	}
	if e.Level != "error" || e.Msg != "arch: real runc not found" || time.Since(e.Time) > time.Minute {
		t.Fatalf("decoded %+v", e)
	}
}

// TestOpenUnwritablePathDiscards: a log that cannot be opened discards
// everything, silently: nothing reaches stdout or stderr (they are
// containerd's and the container's), nothing is created, and closing works.
func TestOpenUnwritablePathDiscards(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/proc/nonexistent/arch.log", filepath.Join(blocker, "arch.log"), ""} {
		out := captureStdio(t, func() {
			l, c := Open(p, "info", "test")
			if l.GetLevel() != zerolog.Disabled {
				t.Errorf("%q: the logger is not a discarding one (level %v)", p, l.GetLevel())
			}
			l.Error().Msg("goes nowhere")
			if err := c.Close(); err != nil {
				t.Errorf("%q: close: %v", p, err)
			}
		})
		if out != "" {
			t.Fatalf("%q: printed %q", p, out)
		}
	}
	if st, err := os.Stat(blocker); err != nil || st.IsDir() || st.Size() != 0 {
		t.Fatalf("the blocking file changed: %v, %v", st, err)
	}
}

// captureStdio runs f with stdout and stderr going to a pipe, and returns
// what was written there.
func captureStdio(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	f()
	os.Stdout, os.Stderr = oldOut, oldErr
	w.Close()
	data, _ := io.ReadAll(r)
	r.Close()
	return string(data)
}

func TestOpenWritesJSONLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "arch.log")
	l, c := Open(p, "debug", "wrapper")
	l.Debug().Strs("argv", []string{"create", "x"}).Msg("call")
	c.Close()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || m["msg"] != "call" || m["component"] != "wrapper" {
		t.Fatalf("line %q: %v", data, err)
	}
}
