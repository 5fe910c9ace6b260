package runccmd

import (
	"fmt"
	"strings"
)

// MissingValueError reports a value flag at the very end of the command
// line: the only argv Parse cannot model.
type MissingValueError struct {
	Subcommand string // "" for a global flag
	Flag       string // the flag as written, e.g. "--bundle"
}

// Error says which flag lacks its value, e.g.
// "runc create: flag --bundle needs a value".
func (e *MissingValueError) Error() string {
	where := "runc"
	if e.Subcommand != "" {
		where += " " + e.Subcommand
	}
	return fmt.Sprintf("%s: flag %s needs a value", where, e.Flag)
}

// Parse parses argv without the program name (os.Args[1:]). It never
// rejects an unknown flag; it fails only when a known value flag ends the
// command line without its value. Parse does not keep argv: editing the
// Command leaves argv alone.
func Parse(argv []string) (*Command, error) {
	c := &Command{}
	reach := &globalReach{argv: argv}
	global, term, i, err := parseFlags(argv, 0, globalFlags, reach.takesValue)
	if err != nil {
		return nil, err
	}
	c.Global, c.globalTerm = global, term
	if i == len(argv) {
		return c, nil
	}
	c.Name = argv[i]
	c.emptyName = c.Name == ""
	t := flagsOf(c.Name)
	ambiguous := func(argv []string, j int) bool {
		return t.atMostOnePositional && hasPositional(argv, j+1, t)
	}
	flags, term, i, err := parseFlags(argv, i+1, t, ambiguous)
	if err != nil {
		if mv, ok := err.(*MissingValueError); ok {
			mv.Subcommand = c.Name
		}
		return nil, err
	}
	c.Flags, c.term = flags, term
	rest := argv[i:]
	if takesID(c.Name) && len(rest) > 0 {
		c.ID, c.HasID = rest[0], true
		rest = rest[1:]
	}
	if len(rest) > 0 {
		c.Args = append([]string(nil), rest...)
	}
	return c, nil
}

// isFlagToken reports whether Go's flag package would read s as a flag (or
// as the "--" terminator) rather than as a positional argument.
func isFlagToken(s string) bool {
	return len(s) >= 2 && s[0] == '-'
}

// splitFlag splits a flag token (not "--") into its name and value.
func splitFlag(s string) (name, value string, hasEq bool) {
	name = s[1:]
	if name[0] == '-' {
		name = name[1:]
	}
	return strings.Cut(name, "=")
}

// parseFlags reads flags from argv[i:] until the first positional token or
// "--". takesValue decides whether an unknown flag without "=" consumes
// argv[j], a non-flag token; it is called only in that case. It returns the
// flags, whether a "--" ended them, and the index of the first token after.
func parseFlags(argv []string, i int, t *flagTable, takesValue func(argv []string, j int) bool) ([]Flag, bool, int, error) {
	var flags []Flag
	for i < len(argv) {
		s := argv[i]
		if !isFlagToken(s) {
			return flags, false, i, nil
		}
		if s == "--" {
			return flags, true, i + 1, nil
		}
		name, value, hasEq := splitFlag(s)
		name, kind := t.lookup(name)
		f := Flag{Name: name, Value: value, HasValue: hasEq, raw: []string{s}}
		if !hasEq {
			next := i+1 < len(argv)
			switch {
			case kind == kindValue && !next:
				return nil, false, 0, &MissingValueError{Flag: s}
			case kind == kindValue,
				kind == kindUnknown && next && !isFlagToken(argv[i+1]) && takesValue(argv, i+1):
				f.Value, f.HasValue = argv[i+1], true
				f.raw = append(f.raw, argv[i+1])
				i++
			}
		}
		f.rawName, f.rawValue, f.rawHas = f.Name, f.Value, f.HasValue
		flags = append(flags, f)
		i++
	}
	return flags, false, i, nil
}
