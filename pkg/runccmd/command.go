// Package runccmd models a runc command line exactly: global flags, the
// subcommand, its flags, the container id and the arguments after it. Parse
// never rejects a flag it does not know, and Render of an unmodified Command
// returns the argv that was parsed, token for token, so a wrapper can rewrite
// one flag and leave everything else as containerd, Docker or the kubelet
// wrote it.
//
// Parsing follows runc's CLI (urfave/cli v1 over Go's flag package): any
// flag may be written -x, --x, -x=v or --x=v; a value flag takes the next
// token when it has no "="; a boolean flag never does; flag parsing stops at
// the first positional token or at "--".
package runccmd

import "strings"

// Command is one runc invocation without the program name.
type Command struct {
	// Global holds the flags before the subcommand, in order.
	Global []Flag
	// Name is the subcommand ("create", "state", ...); "" when there is
	// none, e.g. `runc --version`.
	Name string
	// Flags holds the subcommand's flags, in order.
	Flags []Flag
	// ID is the container id; it is meaningful when HasID is true.
	ID string
	// HasID reports that the command line carries a container id.
	HasID bool
	// Args are the tokens after the id (kill's signal, exec's command,
	// ps's ps-args), or every positional token of a subcommand that takes
	// no id (list, spec, features, help). They are rendered verbatim.
	Args []string

	globalTerm bool // a "--" ended the global flags
	term       bool // a "--" ended the subcommand flags
	emptyName  bool // the subcommand token was present and empty
}

// Flag is one flag of a command line.
type Flag struct {
	// Name is the canonical long name without dashes: "bundle" for -b,
	// "no-subreaper" for -no-subreaper. An unknown flag keeps the name it
	// was written with.
	Name string
	// Value is the flag's value; meaningful when HasValue is true.
	Value string
	// HasValue reports that the flag carries a value, as a separate token
	// or after "=".
	HasValue bool

	raw []string // the tokens as given; nil for a flag built by an edit
	// what raw encodes: raw is rendered only while the exported fields
	// still say the same thing.
	rawName  string
	rawValue string
	rawHas   bool
}

// unchanged reports whether f can be rendered from its original tokens.
func (f *Flag) unchanged() bool {
	return f.raw != nil && f.Name == f.rawName && f.Value == f.rawValue && f.HasValue == f.rawHas
}

// Clone returns a deep copy of c: editing the copy leaves c as it was.
func (c *Command) Clone() *Command {
	n := *c
	n.Global = cloneFlags(c.Global)
	n.Flags = cloneFlags(c.Flags)
	if c.Args != nil {
		n.Args = append([]string(nil), c.Args...)
	}
	return &n
}

func cloneFlags(fs []Flag) []Flag {
	if fs == nil {
		return nil
	}
	out := make([]Flag, len(fs))
	for i, f := range fs {
		out[i] = f
		if f.raw != nil {
			out[i].raw = append([]string(nil), f.raw...)
		}
	}
	return out
}

// Namespace returns the containerd namespace a runc state root belongs to:
// the last path element of the global --root ("/run/containerd/runc/k8s.io"
// gives "k8s.io", "/var/run/docker/runtime-runc/moby" gives "moby"). It
// returns "" for an empty root or "/".
func Namespace(root string) string {
	root = strings.TrimRight(root, "/")
	return root[strings.LastIndex(root, "/")+1:]
}
