package install

import "strings"

// appendTables appends the options table (and the runtime's table with
// its runtime_type when the file has none) at the end of the file.
func appendTables(e *tomlEdit, data []byte, lines []tomlLine, rt []string, quote byte, withRuntime bool, binary string) {
	nl := fileEOL(lines)
	var b strings.Builder
	b.Write(data)
	if len(lines) > 0 && lines[len(lines)-1].eol == "" {
		b.WriteString(nl)
	}
	if withRuntime {
		b.WriteString(nl + "[" + formatKey(rt, quote) + "]" + nl)
		b.WriteString("  runtime_type = " + quoteString(runcV2Type, false) + nl)
		e.changes = append(e.changes, "appended ["+formatKey(rt, quote)+"] with runtime_type = \""+runcV2Type+"\"")
	}
	b.WriteString(nl + e.section + nl)
	b.WriteString("  BinaryName = " + quoteString(binary, false) + nl)
	e.changes = append(e.changes, "appended "+e.section+" with BinaryName = "+quoteString(binary, false))
	e.out, e.changed = []byte(b.String()), true
}

// appendMinimal turns an empty (or comments-only) file into a minimal
// version 2 configuration.
func appendMinimal(data []byte, lines []tomlLine, runtime, binary string) (*tomlEdit, error) {
	e := &tomlEdit{version: 2}
	var b strings.Builder
	nl := fileEOL(lines)
	b.Write(data)
	if len(lines) > 0 && lines[len(lines)-1].eol == "" {
		b.WriteString(nl)
	}
	b.Write(minimalConfig(runtime, binary))
	rt, quote, _ := runtimePath(2, runtime)
	e.section = "[" + formatKey(append(rt, "options"), quote) + "]"
	e.out, e.changed = []byte(b.String()), true
	e.changes = append(e.changes, "wrote a minimal version 2 configuration with "+e.section+" BinaryName = "+quoteString(binary, false))
	return e, nil
}

// minimalConfig is the version 2 configuration ARCH writes when there is
// none: containerd's defaults, plus the runtime running arch-wrapper.
func minimalConfig(runtime, binary string) []byte {
	rt, quote, _ := runtimePath(2, runtime)
	return []byte("# Written by `arch-hook install --containerd`: containerd's defaults, with\n" +
		"# the CRI runtime " + runtime + " running ARCH's runc wrapper.\n" +
		"version = 2\n\n" +
		"[" + formatKey(rt, quote) + "]\n" +
		"  runtime_type = " + quoteString(runcV2Type, false) + "\n\n" +
		"[" + formatKey(append(rt, "options"), quote) + "]\n" +
		"  BinaryName = " + quoteString(binary, false) + "\n")
}
