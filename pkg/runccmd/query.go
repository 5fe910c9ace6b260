package runccmd

import "strconv"

// Get returns the value of a subcommand flag by canonical name (an alias such
// as "b" is resolved too). The last occurrence wins, as with Go's flag
// package. ok is false when the flag is absent; a boolean flag given without
// a value yields ("", true).
func (c *Command) Get(name string) (value string, ok bool) {
	return get(c.Flags, flagsOf(c.Name), name)
}

// Has reports whether a subcommand flag is present, whatever its value.
func (c *Command) Has(name string) bool {
	_, ok := c.Get(name)
	return ok
}

// Bool reports whether a boolean subcommand flag is on: present, and not
// written with a value that reads as false (--leave-running=false).
func (c *Command) Bool(name string) bool {
	return boolOf(c.Flags, flagsOf(c.Name), name)
}

// GetAll returns the value of every occurrence of a subcommand flag, in
// order: a repeated flag such as --empty-ns.
func (c *Command) GetAll(name string) []string {
	name = resolve(flagsOf(c.Name), name)
	var out []string
	for _, f := range c.Flags {
		if f.Name == name {
			out = append(out, f.Value)
		}
	}
	return out
}

// GlobalGet is Get for the global flags (root, log, log-format, ...).
func (c *Command) GlobalGet(name string) (value string, ok bool) {
	return get(c.Global, globalFlags, name)
}

// GlobalHas is Has for the global flags.
func (c *Command) GlobalHas(name string) bool {
	_, ok := c.GlobalGet(name)
	return ok
}

// GlobalBool is Bool for the global flags (debug, systemd-cgroup).
func (c *Command) GlobalBool(name string) bool {
	return boolOf(c.Global, globalFlags, name)
}

// resolve turns a name as a caller may write it (the canonical "bundle" or
// its alias "b", without dashes) into the name flags are stored under.
func resolve(t *flagTable, name string) string {
	return t.canonical(name)
}

func get(flags []Flag, t *flagTable, name string) (string, bool) {
	name = resolve(t, name)
	for i := len(flags) - 1; i >= 0; i-- {
		if flags[i].Name == name {
			return flags[i].Value, true
		}
	}
	return "", false
}

func boolOf(flags []Flag, t *flagTable, name string) bool {
	name = resolve(t, name)
	for i := len(flags) - 1; i >= 0; i-- {
		if flags[i].Name == name {
			return truthy(flags[i])
		}
	}
	return false
}

// truthy reports whether a flag occurrence turns a boolean on.
func truthy(f Flag) bool {
	if !f.HasValue {
		return true
	}
	b, err := strconv.ParseBool(f.Value)
	return err == nil && b
}
