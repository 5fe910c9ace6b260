package runccmd

import (
	"slices"
	"strings"
	"testing"
)

// fuzzArgv decodes fuzz input as NUL-separated tokens; no bytes is no token.
func fuzzArgv(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), "\x00")
}

// FuzzParseRender checks that Parse never panics and that Render gives back
// exactly what Parse accepted, also through Clone. For subcommands runc has,
// it also checks that an edited command still parses to what the edit said.
func FuzzParseRender(f *testing.F) {
	for _, tc := range roundTripCases {
		f.Add([]byte(strings.Join(tc.argv, "\x00")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzArgv(data)
		c, err := Parse(in)
		if err != nil {
			if _, ok := err.(*MissingValueError); !ok {
				t.Fatalf("Parse(%q): unexpected error type %T: %v", in, err, err)
			}
			return
		}
		if got := c.Render(); !slices.Equal(got, in) {
			t.Fatalf("Render:\n got  %q\n want %q", got, in)
		}
		if got := c.Clone().Render(); !slices.Equal(got, in) {
			t.Fatalf("Clone().Render:\n got  %q\n want %q", got, in)
		}
		if !isSubcommand(c.Name) {
			// Edits are checked on the subcommands runc has, the ones ARCH
			// rewrites. Before an unknown subcommand, whether an unknown
			// global flag owns the next token is guessed from the tokens
			// after it, so an edit may change the guess.
			return
		}
		value := "v"
		if len(in) > 0 {
			value = in[len(in)-1]
		}
		set := c.Clone()
		set.Set("pid-file", value)
		e := reparse(t, c, set)
		if got, ok := e.Get("pid-file"); !ok || got != value {
			t.Fatalf("after Set(pid-file, %q): Get = %q, %v in %q", value, got, ok, set.Render())
		}
		removed := c.Clone()
		for _, fl := range c.Flags {
			removed.Remove(fl.Name)
		}
		if e := reparse(t, c, removed); len(e.Flags) != 0 {
			t.Fatalf("after removing every flag: %+v in %q", e.Flags, removed.Render())
		}
	})
}

// reparse parses an edited command's rendering and checks that the parts the
// edit did not touch read back the same.
func reparse(t *testing.T, orig, edited *Command) *Command {
	t.Helper()
	out := edited.Render()
	e, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(%q) after an edit: %v", out, err)
	}
	if e.Name != orig.Name || e.ID != orig.ID || e.HasID != orig.HasID || !slices.Equal(e.Args, orig.Args) {
		t.Fatalf("edit changed the command: %q parses to Name %q ID %q/%v Args %q", out, e.Name, e.ID, e.HasID, e.Args)
	}
	if !sameFlags(e.Global, orig.Global) {
		t.Fatalf("edit changed the global flags: %+v", e.Global)
	}
	return e
}
