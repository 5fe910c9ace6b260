package runccmd

// Render returns the command line as argv without the program name. For a
// Command straight from Parse it returns exactly the parsed tokens. A flag
// changed by an edit renders as "--name value" when the subcommand knows it
// as a value flag, "--name=value" for any other flag with a value, and
// "--name" without one. If the first positional would read as a flag, Render
// puts "--" before it.
func (c *Command) Render() []string {
	out := c.RenderGlobal()
	if c.Name != "" || c.emptyName {
		if isFlagToken(c.Name) && !c.globalTerm {
			out = append(out, "--")
		}
		out = append(out, c.Name)
	}
	out = appendFlags(out, c.Flags, flagsOf(c.Name))
	var positional []string
	if c.HasID || c.ID != "" {
		positional = append(positional, c.ID)
	}
	positional = append(positional, c.Args...)
	if c.term || (len(positional) > 0 && isFlagToken(positional[0])) {
		out = append(out, "--")
	}
	return append(out, positional...)
}

// RenderGlobal returns the global flags alone (and the "--" that ended them,
// if the command line had one), to run another runc subcommand with the
// caller's --root, --log and the rest.
func (c *Command) RenderGlobal() []string {
	out := appendFlags([]string{}, c.Global, globalFlags)
	if c.globalTerm {
		out = append(out, "--")
	}
	return out
}

func appendFlags(out []string, flags []Flag, t *flagTable) []string {
	for i := range flags {
		f := &flags[i]
		switch {
		case f.unchanged():
			out = append(out, f.raw...)
		case !f.HasValue:
			out = append(out, "--"+f.Name)
		case isValueFlag(t, f.Name):
			out = append(out, "--"+f.Name, f.Value)
		default:
			out = append(out, "--"+f.Name+"="+f.Value)
		}
	}
	return out
}

func isValueFlag(t *flagTable, name string) bool {
	_, kind := t.lookup(name)
	return kind == kindValue
}
