package hookcli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90m": 90 * time.Minute, "36h": 36 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour,
		"2w": 14 * 24 * time.Hour, "1.5d": 36 * time.Hour, "0": 0, "30s": 30 * time.Second, "1h30m": 90 * time.Minute,
	} {
		got, err := parseAge(in)
		if err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "7", "-1d", "7x", "d", "1d-2h", "7 d", "99999999999999d"} {
		if d, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) = %v, want an error", in, d)
		}
	}
	for d, want := range map[time.Duration]string{7 * 24 * time.Hour: "7d", 36 * time.Hour: "36h", 90 * time.Minute: "90m", 90 * time.Second: "1m30s", 0: "0"} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %s", d, got)
		}
	}
}

// gcStore holds a fresh image, an old one and an interrupted commit.
func gcStore(t *testing.T) (cfg, root string, old *ckpt.Manifest) {
	t.Helper()
	dir := t.TempDir()
	cfg = storeTestConfig(t, dir)
	root = filepath.Join(dir, "store")
	storeImage(t, root, "default/fresh", time.Time{})
	old = storeImage(t, root, "default/old", time.Now().Add(-8*24*time.Hour))
	os.MkdirAll(filepath.Join(root, "default%2Fcrashed"), 0o700)
	os.WriteFile(filepath.Join(root, "default%2Fcrashed", ".incoming-20250301T100000.000000000Z-0badc0de.tar.zst"), []byte("half"), 0o600)
	return cfg, root, old
}

func folders(t *testing.T, root string) string {
	t.Helper()
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

func TestGCDryRunThenRun(t *testing.T) {
	cfg, root, old := gcStore(t)
	code, out, errOut := archHook(t, "gc", "--config", cfg, "--older-than", "7d", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("dry run: %d %s", code, errOut)
	}
	var rep GCReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rep.DryRun || rep.OlderThan != "7d" || rep.OlderThanSeconds != 7*24*3600 || rep.Store != root {
		t.Errorf("report header %+v", rep)
	}
	if rep.FreedBytes != old.Archive.Size+4 || len(rep.Removed) != 4 || len(rep.Skipped) != 0 || len(rep.Failed) != 0 {
		t.Errorf("dry run report %+v", rep)
	}
	if got := folders(t, root); got != "default%2Fcrashed default%2Ffresh default%2Fold" {
		t.Fatalf("dry run removed something: %s", got)
	}

	code, out, errOut = archHook(t, "gc", "--config", cfg, "--older-than", "7d")
	if code != 0 {
		t.Fatalf("gc: %d %s", code, errOut)
	}
	for _, want := range []string{"removed  default/old", "image", "older than", "removed  default/crashed",
		"unfinished archive", fmt.Sprintf("freed %s (%d bytes) in 4 removals; 0 skipped; 0 failed", humanBytes(old.Archive.Size+4), old.Archive.Size+4)} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if got := folders(t, root); got != "default%2Ffresh" {
		t.Errorf("left %s", got)
	}
	if log, _ := os.ReadFile(filepath.Join(filepath.Dir(root), "log", "arch.log")); !strings.Contains(string(log), `"gc done"`) {
		t.Errorf("ARCH's log has no gc record: %s", log)
	}
	code, out, _ = archHook(t, "gc", "--config", cfg, "--older-than", "7d")
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("second gc: %d\n%s", code, out)
	}
}

func TestGCSkipsBusyKeys(t *testing.T) {
	cfg, root, _ := gcStore(t)
	s, _ := ckpt.New(root)
	k, _ := ckpt.ParseKey("default/old")
	unlock, err := s.TryLock(k)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, out, errOut := archHook(t, "gc", "--config", cfg, "--older-than", "1h")
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	if l := lineWith(out, "default/old"); !strings.HasPrefix(l, "skipped") || !strings.Contains(l, "busy") {
		t.Errorf("busy key: %q\n%s", l, out)
	}
	if _, err := os.Stat(filepath.Join(root, "default%2Fold", "manifest.json")); err != nil {
		t.Errorf("busy key's image removed: %v", err)
	}
}

func TestGCUsage(t *testing.T) {
	for _, args := range [][]string{{"gc"}, {"gc", "--older-than", "7x"}, {"gc", "--older-than", "7d", "extra"}} {
		if code, _, errOut := archHook(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: status %d, stderr %q", args, code, errOut)
		}
	}
	dir := t.TempDir()
	cfg := storeTestConfig(t, dir)
	if code, out, _ := archHook(t, "gc", "--config", cfg, "--older-than", "0"); code != 0 || !strings.Contains(out, "no image is removed for its age") {
		t.Errorf("missing store: %d %s", code, out)
	}
}
