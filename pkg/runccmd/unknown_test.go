package runccmd

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Unknown flags are never rejected; whether one owns the next token is a guess
// that only changes the fields, never the rendering.
func TestUnknownFlags(t *testing.T) {
	tests := []struct {
		name  string
		argv  []string
		flags []Flag // Name, Value, HasValue only
		id    string
		args  []string
	}{
		{"boolean before the only positional", argv("create --future c1"),
			[]Flag{{Name: "future"}}, "c1", nil},
		{"value when another positional follows", argv("create --future v c1"),
			[]Flag{{Name: "future", Value: "v", HasValue: true}}, "c1", nil},
		{"value when a positional follows after known flags", argv("restore --future v --bundle /b -d c1"),
			[]Flag{{Name: "future", Value: "v", HasValue: true}, {Name: "bundle", Value: "/b", HasValue: true}, {Name: "detach"}}, "c1", nil},
		{"boolean before another flag", argv("delete --future --force c1"),
			[]Flag{{Name: "future"}, {Name: "force"}}, "c1", nil},
		{"equals always carries the value", argv("state --future=x c1"),
			[]Flag{{Name: "future", Value: "x", HasValue: true}}, "c1", nil},
		{"boolean in exec, which takes a command", argv("exec --future c1 ls"),
			[]Flag{{Name: "future"}}, "c1", []string{"ls"}},
		{"boolean in kill, which takes a signal", argv("kill --future c1 9"),
			[]Flag{{Name: "future"}}, "c1", []string{"9"}},
		{"boolean in an unknown subcommand", argv("frob --future a b"),
			[]Flag{{Name: "future"}}, "a", []string{"b"}},
		{"single dash unknown", argv("pause -future v c1"),
			[]Flag{{Name: "future", Value: "v", HasValue: true}}, "c1", nil},
		{"chain of unknown flags", argv("create --aa x --bb y c1"),
			[]Flag{{Name: "aa", Value: "x", HasValue: true}, {Name: "bb", Value: "y", HasValue: true}}, "c1", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.argv)
			checkArgv(t, "Render", c.Render(), tc.argv)
			if !sameFlags(c.Flags, tc.flags) {
				t.Errorf("Flags = %+v, want %+v", c.Flags, tc.flags)
			}
			if c.ID != tc.id || !slices.Equal(c.Args, tc.args) {
				t.Errorf("ID, Args = %q, %q; want %q, %q", c.ID, c.Args, tc.id, tc.args)
			}
		})
	}
}

func TestUnknownGlobalFlags(t *testing.T) {
	tests := []struct {
		name   string
		argv   []string
		global []Flag
		cmd    string
	}{
		{"runtimeArg with value before known flags", argv("--custom v --root /r state c1"),
			[]Flag{{Name: "custom", Value: "v", HasValue: true}, {Name: "root", Value: "/r", HasValue: true}}, "state"},
		{"runtimeArg with value before the subcommand", argv("--custom v create c1"),
			[]Flag{{Name: "custom", Value: "v", HasValue: true}}, "create"},
		{"boolean runtimeArg before the subcommand", argv("--custom create c1"),
			[]Flag{{Name: "custom"}}, "create"},
		{"boolean runtimeArg before an unknown subcommand", argv("--custom frob c1"),
			[]Flag{{Name: "custom"}}, "frob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.argv)
			checkArgv(t, "Render", c.Render(), tc.argv)
			if !sameFlags(c.Global, tc.global) || c.Name != tc.cmd {
				t.Errorf("Global, Name = %+v, %q; want %+v, %q", c.Global, c.Name, tc.global, tc.cmd)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		msg  string
	}{
		{"subcommand value flag at the end", argv("create --bundle"), "runc create: flag --bundle needs a value"},
		{"short alias at the end", argv("exec -p"), "runc exec: flag -p needs a value"},
		{"global value flag at the end", argv("--root"), "runc: flag --root needs a value"},
		{"global value flag before nothing else", argv("--debug --log"), "runc: flag --log needs a value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.argv)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.argv, c)
			}
			var mv *MissingValueError
			if !errors.As(err, &mv) {
				t.Errorf("error %T is not a *MissingValueError", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func sameFlags(got, want []Flag) bool {
	return slices.EqualFunc(got, want, func(a, b Flag) bool {
		return a.Name == b.Name && a.Value == b.Value && a.HasValue == b.HasValue
	})
}

// Long runs of unknown flags must not make parsing quadratic.
func TestLongRunsOfUnknownFlags(t *testing.T) {
	var global, sub []string
	for range 100000 {
		global = append(global, "--u", "x")
		sub = append(sub, "--v", "y")
	}
	in := append(append(append(global, "create"), sub...), "c1")
	c := mustParse(t, in)
	if c.Name != "create" || c.ID != "c1" || len(c.Global) != 100000 || len(c.Flags) != 100000 {
		t.Fatalf("Name %q ID %q, %d global and %d flags", c.Name, c.ID, len(c.Global), len(c.Flags))
	}
	checkArgv(t, "Render", c.Render(), in)
}
