package specpatch

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestAddHook(t *testing.T) {
	nvidiaPrestart := specs.Hook{
		Path: "/usr/bin/nvidia-container-runtime-hook",
		Args: []string{"/usr/bin/nvidia-container-runtime-hook", "prestart"},
	}
	tests := []struct {
		name        string
		fixture     string
		input       string // used when fixture is empty
		stage       string
		hook        specs.Hook
		wantChanged bool
		wantErr     error // nil: expect success; errAny: any error
		wantPaths   []string
	}{
		{name: "appends after another tool's hooks, keeping their order", fixture: "nvidia-hooks.json",
			stage: StagePrestart, hook: archHook, wantChanged: true,
			wantPaths: []string{nvidiaPrestart.Path, "/usr/local/bin/netns-setup", archHook.Path}},
		{name: "same path and args already present is no change", fixture: "nvidia-hooks.json",
			stage: StagePrestart, hook: nvidiaPrestart,
			wantPaths: []string{nvidiaPrestart.Path, "/usr/local/bin/netns-setup"}},
		{name: "same path and args with other env and timeout is no change", fixture: "nvidia-hooks.json",
			stage: StagePrestart, hook: specs.Hook{Path: nvidiaPrestart.Path, Args: nvidiaPrestart.Args, Env: []string{"X=1"}, Timeout: new(5)},
			wantPaths: []string{nvidiaPrestart.Path, "/usr/local/bin/netns-setup"}},
		{name: "same path with other args is appended", fixture: "nvidia-hooks.json",
			stage: StagePrestart, hook: specs.Hook{Path: nvidiaPrestart.Path, Args: []string{"hook", "other"}}, wantChanged: true,
			wantPaths: []string{nvidiaPrestart.Path, "/usr/local/bin/netns-setup", nvidiaPrestart.Path}},
		{name: "same hook in another stage still appends", fixture: "nvidia-hooks.json",
			stage: StageCreateRuntime, hook: nvidiaPrestart, wantChanged: true,
			wantPaths: []string{nvidiaPrestart.Path}},
		{name: "creates the hooks object when absent", fixture: "no-hooks.json",
			stage: StageStartContainer, hook: archHook, wantChanged: true, wantPaths: []string{archHook.Path}},
		{name: "hooks null is like absent", input: `{"hooks":null}`,
			stage: StagePoststop, hook: archHook, wantChanged: true, wantPaths: []string{archHook.Path}},
		{name: "stage null is like absent", input: `{"hooks":{"poststop":null}}`,
			stage: StagePoststop, hook: archHook, wantChanged: true, wantPaths: []string{archHook.Path}},
		{name: "unknown stage is refused", fixture: "no-hooks.json",
			stage: "prestop", hook: archHook, wantErr: ErrUnknownStage},
		{name: "relative hook path is refused", fixture: "no-hooks.json",
			stage: StagePrestart, hook: specs.Hook{Path: "arch-hook"}, wantErr: errAny},
		{name: "hooks that is not an object is refused", input: `{"hooks":[]}`,
			stage: StagePrestart, hook: archHook, wantErr: ErrNotObject},
		{name: "stage that is not an array is refused", input: `{"hooks":{"prestart":{}}}`,
			stage: StagePrestart, hook: archHook, wantErr: errAny},
		{name: "hook entry without a string path is refused", input: `{"hooks":{"prestart":[{"path":7}]}}`,
			stage: StagePrestart, hook: archHook, wantErr: errAny},
		{name: "hooks under another case spelling is ambiguous", input: `{"Hooks":{}}`,
			stage: StagePrestart, hook: archHook, wantErr: ErrAmbiguousKey},
		{name: "stage under another case spelling is ambiguous", input: `{"hooks":{"PreStart":[]}}`,
			stage: StagePrestart, hook: archHook, wantErr: ErrAmbiguousKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := docFor(t, tt.fixture, tt.input)
			before, _ := d.Bytes()
			changed, err := d.AddHook(tt.stage, tt.hook)
			if checkErr(t, err, tt.wantErr) {
				if after, _ := d.Bytes(); d.Changed() || string(after) != string(before) {
					t.Fatal("a failed AddHook changed the document")
				}
				return
			}
			if changed != tt.wantChanged || d.Changed() != tt.wantChanged {
				t.Fatalf("changed = %v, Changed() = %v, want %v", changed, d.Changed(), tt.wantChanged)
			}
			mustEqual(t, "hook paths", hookPaths(t, d, tt.stage), tt.wantPaths)
			if again, err := d.AddHook(tt.stage, tt.hook); err != nil || again {
				t.Fatalf("second AddHook = %v, %v; want false, nil", again, err)
			}
		})
	}
}

func TestRemoveHooks(t *testing.T) {
	const nvidia = "/usr/bin/nvidia-container-runtime-hook"
	tests := []struct {
		name        string
		fixture     string
		input       string
		stage       string
		path        string
		wantChanged bool
		wantErr     error
		wantPaths   []string
		wantStage   bool // the stage key is still present
	}{
		{name: "drops every hook with the path and keeps the others in order", fixture: "nvidia-hooks.json",
			stage: StagePrestart, path: nvidia, wantChanged: true,
			wantPaths: []string{"/usr/local/bin/netns-setup"}, wantStage: true},
		{name: "removing the last hook drops the stage", fixture: "nvidia-hooks.json",
			stage: StagePoststop, path: nvidia, wantChanged: true},
		{name: "absent path is no change", fixture: "nvidia-hooks.json",
			stage: StagePoststop, path: "/usr/bin/other",
			wantPaths: []string{nvidia}, wantStage: true},
		{name: "absent hooks object is no change", fixture: "no-hooks.json",
			stage: StagePrestart, path: nvidia},
		{name: "unknown stage is refused", fixture: "nvidia-hooks.json",
			stage: "futureStage", path: nvidia, wantErr: ErrUnknownStage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := docFor(t, tt.fixture, tt.input)
			changed, err := d.RemoveHooks(tt.stage, tt.path)
			if checkErr(t, err, tt.wantErr) {
				return
			}
			if changed != tt.wantChanged || d.Changed() != tt.wantChanged {
				t.Fatalf("changed = %v, Changed() = %v, want %v", changed, d.Changed(), tt.wantChanged)
			}
			mustEqual(t, "hook paths", hookPaths(t, d, tt.stage), tt.wantPaths)
			hooks, _ := docGeneric(t, d)["hooks"].(map[string]any)
			if _, ok := hooks[tt.stage]; ok != tt.wantStage {
				t.Fatalf("stage %s present = %v, want %v", tt.stage, ok, tt.wantStage)
			}
		})
	}
}

// errAny stands for "some error" in tables.
var errAny = errors.New("any error")

// checkErr fails unless err matches want, and reports whether an error was
// expected (so the caller stops).
func checkErr(t *testing.T, err, want error) bool {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && err == nil:
		t.Fatalf("no error, want %v", want)
	case want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("error %v, want one wrapping %v", err, want)
	}
	if err != nil {
		t.Logf("error (expected): %v", err)
	}
	return want != nil
}

// docFor parses a fixture, or input when fixture is empty.
func docFor(t *testing.T, fixture, input string) *Doc {
	t.Helper()
	if fixture != "" {
		return parseFixture(t, fixture)
	}
	d, err := Parse([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hookPaths lists the paths of a stage's hooks (nil when none).
func hookPaths(t *testing.T, d *Doc, stage string) []string {
	t.Helper()
	var paths []string
	for _, h := range stageList(docGeneric(t, d), stage) {
		paths = append(paths, h.(map[string]any)["path"].(string))
	}
	return paths
}
