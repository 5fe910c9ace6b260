package specpatch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fixtures are the testdata config.json files.
var fixtures = []string{
	"containerd-1.6-ctr-run.json",
	"future-fields.json",
	"nvidia-hooks.json",
	"no-hooks.json",
	"no-mounts.json",
}

var (
	archHook = specs.Hook{
		Path: "/usr/local/bin/arch-hook",
		Args: []string{"arch-hook", "prestart"},
		Env:  []string{"ARCH_STATE=/run/arch"},
	}
	archMount = specs.Mount{
		Destination: "/run/arch",
		Type:        "bind",
		Source:      "/var/lib/arch/c1",
		Options:     []string{"rbind", "rw"},
	}
	archCwd = "/arch/work"
)

// archMods are the edits ARCH makes to a bundle.
func archMods() []Modifier {
	return []Modifier{WithHook(StagePrestart, archHook), WithMount(archMount), WithCwd(archCwd),
		WithAnnotation("org.criu.config", "/run/arch/c1.criu.conf")}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// copyFixture puts a fixture into a temp folder as config.json with perm.
func copyFixture(t testing.TB, name string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, readFixture(t, name), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil { // umask may have cut perm
		t.Fatal(err)
	}
	return p
}

func parseFixture(t testing.TB, name string) *Doc {
	t.Helper()
	d, err := Parse(readFixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// generic decodes JSON keeping numbers as json.Number text.
func generic(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return v
}

// genericOf is the generic form of v as the package encodes it.
func genericOf(t testing.TB, v any) any {
	t.Helper()
	raw, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return generic(t, raw)
}

// docGeneric is the generic form of a Doc's current bytes.
func docGeneric(t testing.TB, d *Doc) map[string]any {
	t.Helper()
	out, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := generic(t, out).(map[string]any)
	if !ok {
		t.Fatalf("output is not an object: %s", out)
	}
	return m
}

// stageList returns doc.hooks[stage] in generic form (nil when absent).
func stageList(doc map[string]any, stage string) []any {
	hooks, _ := doc["hooks"].(map[string]any)
	list, _ := hooks[stage].([]any)
	return list
}

func mustEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Fatalf("%s:\n got  %s\n want %s", what, gj, wj)
	}
}

// fileID is what tells a rewritten file from an untouched one.
type fileID struct {
	data  string
	inode uint64
	mtime int64
	mode  os.FileMode
}

func statFile(t testing.TB, p string) fileID {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fileID{data: string(data), inode: inode(st), mtime: st.ModTime().UnixNano(), mode: st.Mode()}
}
