package specpatch

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseRejectsWhatIsNotAnObject(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		notObject bool // valid JSON of another type
	}{
		{"empty input", "", false},
		{"only blanks", " \n\t", false},
		{"truncated object", `{"ociVersion": "1.0.2"`, false},
		{"missing value", `{"process":}`, false},
		{"trailing garbage", `{"a":1} x`, false},
		{"two documents", `{} {}`, false},
		{"array", `[{"ociVersion":"1.0.2"}]`, true},
		{"null", `null`, true},
		{"number", `4294967295`, true},
		{"string", `"{}"`, true},
		{"boolean", `true`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.input))
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.input, d)
			}
			if got := errors.Is(err, ErrNotObject); got != tt.notObject {
				t.Fatalf("errors.Is(%v, ErrNotObject) = %v, want %v", err, got, tt.notObject)
			}
			if !tt.notObject && !strings.Contains(err.Error(), "invalid JSON") {
				t.Fatalf("error %q does not say the JSON is invalid", err)
			}
		})
	}
}

func TestUnchangedDocBytesAreTheInput(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			in := readFixture(t, name)
			d, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			// No-op edits: remove a hook that is not there.
			if changed, err := d.RemoveHooks(StagePoststop, "/nonexistent"); err != nil || changed {
				t.Fatalf("RemoveHooks = %v, %v", changed, err)
			}
			out, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if d.Changed() || !bytes.Equal(out, in) {
				t.Fatalf("unchanged doc: Changed %v, bytes differ: %v", d.Changed(), !bytes.Equal(out, in))
			}
		})
	}
}

// TestEditsKeepEverythingElse applies ARCH's edits to every fixture, undoes
// them on the generic (json.Number) form of the output and expects the input.
func TestEditsKeepEverythingElse(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			in := readFixture(t, name)
			d := parseFixture(t, name)
			for _, mod := range archMods() {
				if err := mod(d); err != nil {
					t.Fatal(err)
				}
			}
			want := generic(t, in).(map[string]any)
			got := docGeneric(t, d)

			hooks := got["hooks"].(map[string]any)
			list := hooks[StagePrestart].([]any)
			mustEqual(t, "appended hook", list[len(list)-1], genericOf(t, archHook))
			if list = list[:len(list)-1]; len(list) == 0 {
				delete(hooks, StagePrestart)
			} else {
				hooks[StagePrestart] = list
			}
			if _, had := want["hooks"]; !had && len(hooks) == 0 {
				delete(got, "hooks")
			}

			mounts := got["mounts"].([]any)
			mustEqual(t, "appended mount", mounts[len(mounts)-1], genericOf(t, archMount))
			if mounts = mounts[:len(mounts)-1]; len(mounts) == 0 {
				delete(got, "mounts")
			} else {
				got["mounts"] = mounts
			}

			proc := got["process"].(map[string]any)
			mustEqual(t, "cwd", proc["cwd"], archCwd)
			proc["cwd"] = want["process"].(map[string]any)["cwd"]

			annotations := got["annotations"].(map[string]any)
			wantAnn, _ := want["annotations"].(map[string]any)
			if _, owned := wantAnn["org.criu.config"]; !owned {
				mustEqual(t, "added annotation", annotations["org.criu.config"], "/run/arch/c1.criu.conf")
				delete(annotations, "org.criu.config")
			}
			if _, had := want["annotations"]; !had && len(annotations) == 0 {
				delete(got, "annotations")
			}

			mustEqual(t, "document without ARCH's edits", got, want)
		})
	}
}

func TestEditsKeepNumbersAndTextByteForByte(t *testing.T) {
	d := parseFixture(t, "future-fields.json")
	for _, mod := range archMods() {
		if err := mod(d); err != nil {
			t.Fatal(err)
		}
	}
	out, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for _, lit := range []string{
		`"uid": 4294967295`,
		`123456789012345678901234567890`,
		`-9223372036854775809`,
		`1.5e300`,
		`0.1000000000000000055511151231257827`,
		`2.50`,
		`18446744073709551616`,
		`18446744073709551615`,
		`99999999999999999999`,
		`340282366920938463463374607431768211456`,
		`1e-7`,
		`"<a href=\"x\">&amp;</a>"`,
		`"--flag=<value>"`,
	} {
		if !bytes.Contains(out, []byte(lit)) {
			t.Errorf("output lost %s", lit)
		}
	}
}

func TestSpecIsTheTypedViewOfTheEdits(t *testing.T) {
	d := parseFixture(t, "future-fields.json")
	for _, mod := range archMods() {
		if err := mod(d); err != nil {
			t.Fatal(err)
		}
	}
	s, err := d.Spec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 4294967295 || s.Process.Cwd != archCwd {
		t.Fatalf("process: uid %d cwd %q", s.Process.User.UID, s.Process.Cwd)
	}
	if n := len(s.Hooks.Prestart); n != 1 || s.Hooks.Prestart[0].Path != archHook.Path {
		t.Fatalf("prestart hooks: %+v", s.Hooks.Prestart)
	}
	if n := len(s.Hooks.CreateRuntime); n != 1 || *s.Hooks.CreateRuntime[0].Timeout != 30 {
		t.Fatalf("createRuntime hooks: %+v", s.Hooks.CreateRuntime)
	}
	if last := s.Mounts[len(s.Mounts)-1]; last.Destination != archMount.Destination {
		t.Fatalf("last mount: %+v", last)
	}
}

func TestEditsRefuseClashingKeys(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		edit    Modifier
		wantErr error // nil: the edit succeeds
	}{
		{"repeated top-level key", `{"annotations":{"a":"1"},"annotations":{"b":"2"},"process":{}}`,
			WithCwd("/"), ErrAmbiguousKey},
		{"top-level keys differing in case", `{"Annotations":{},"annotations":{},"process":{}}`,
			WithCwd("/"), ErrAmbiguousKey},
		{"edited key only under another spelling", `{"Process":{"cwd":"/"}}`,
			WithCwd("/"), ErrAmbiguousKey},
		{"repeated process", `{"process":{"args":["sh"]},"process":{"cwd":"/"}}`,
			WithCwd("/x"), ErrAmbiguousKey},
		{"process keys differing in case", `{"process":{"user":{},"User":{"uid":1}}}`,
			WithCwd("/"), ErrAmbiguousKey},
		{"repeated stage", `{"hooks":{"poststop":[],"poststop":[{"path":"/a"}]}}`,
			WithHook(StagePrestart, archHook), ErrAmbiguousKey},
		{"kelvin sign folds to k", "{\"hoo\u212As\":{},\"process\":{}}",
			WithHook(StagePrestart, archHook), ErrAmbiguousKey},
		{"clashing keys inside a kept element are harmless", `{"mounts":[{"destination":"/a","Destination":"/b"}]}`,
			WithMount(archMount), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := docFor(t, "", tt.input)
			err := tt.edit(d)
			if checkErr(t, err, tt.wantErr) {
				if out, _ := d.Bytes(); d.Changed() || string(out) != tt.input {
					t.Fatal("a refused edit changed the document")
				}
			}
		})
	}
}
