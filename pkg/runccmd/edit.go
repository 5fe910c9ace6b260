package runccmd

// Set gives a subcommand flag one value: every occurrence of the flag is
// replaced by a single "--name value" at the place of the first one, or
// "--name value" is appended after the other flags (before the id) when the
// flag is absent.
func (c *Command) Set(name, value string) {
	c.Flags = set(c.Flags, resolve(flagsOf(c.Name), name), Flag{Value: value, HasValue: true})
}

// SetBool turns a boolean subcommand flag on: it appends "--name" when the
// flag is absent and leaves it alone when every occurrence is already on. An
// occurrence that reads as off (--detach=false) is replaced by "--name".
func (c *Command) SetBool(name string) {
	c.Flags = setBool(c.Flags, resolve(flagsOf(c.Name), name))
}

// Remove drops every occurrence of the named subcommand flags.
func (c *Command) Remove(names ...string) {
	c.Flags = remove(c.Flags, flagsOf(c.Name), names)
}

// GlobalSet is Set for the global flags.
func (c *Command) GlobalSet(name, value string) {
	c.Global = set(c.Global, resolve(globalFlags, name), Flag{Value: value, HasValue: true})
}

// GlobalSetBool is SetBool for the global flags.
func (c *Command) GlobalSetBool(name string) {
	c.Global = setBool(c.Global, resolve(globalFlags, name))
}

// GlobalRemove is Remove for the global flags.
func (c *Command) GlobalRemove(names ...string) {
	c.Global = remove(c.Global, globalFlags, names)
}

// set replaces every occurrence of name by nf (at the first one's place) or
// appends nf. It builds a new slice and leaves flags untouched.
func set(flags []Flag, name string, nf Flag) []Flag {
	nf.Name = name
	out := make([]Flag, 0, len(flags)+1)
	placed := false
	for _, f := range flags {
		if f.Name != name {
			out = append(out, f)
		} else if !placed {
			out = append(out, nf)
			placed = true
		}
	}
	if !placed {
		out = append(out, nf)
	}
	return out
}

func setBool(flags []Flag, name string) []Flag {
	present, on := false, true
	for _, f := range flags {
		if f.Name == name {
			present = true
			on = on && truthy(f)
		}
	}
	if present && on {
		return flags
	}
	return set(flags, name, Flag{})
}

func remove(flags []Flag, t *flagTable, names []string) []Flag {
	drop := make(map[string]bool, len(names))
	for _, n := range names {
		drop[resolve(t, n)] = true
	}
	out := make([]Flag, 0, len(flags))
	for _, f := range flags {
		if !drop[f.Name] {
			out = append(out, f)
		}
	}
	return out
}
