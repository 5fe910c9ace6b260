package archlog

import (
	"encoding/json"
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

func TestOpenUnwritablePathDiscards(t *testing.T) {
	l, c := Open("/proc/nonexistent/arch.log", "info", "test")
	l.Info().Msg("goes nowhere")
	c.Close()
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
