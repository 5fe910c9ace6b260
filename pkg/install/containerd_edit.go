package install

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Plugin IDs of containerd's CRI runtime configuration.
const (
	criPluginV2 = "io.containerd.grpc.v1.cri"    // config version 2 (containerd 1.x)
	criPluginV3 = "io.containerd.cri.v1.runtime" // config version 3 (containerd 2.x)
	runcV2Type  = "io.containerd.runc.v2"
)

// errVersion1 refuses files without a version key (containerd's version 1
// format, whose CRI section is [plugins.cri]).
var errVersion1 = errors.New("no top-level `version` key: this is a version 1 configuration, which ARCH does not edit (use version 2 or 3, or set BinaryName by hand)")

// runtimePath is the TOML table of CRI runtime name for config version v.
func runtimePath(version int, runtime string) ([]string, byte, error) {
	switch version {
	case 2:
		return []string{"plugins", criPluginV2, "containerd", "runtimes", runtime}, '"', nil
	case 3:
		return []string{"plugins", criPluginV3, "containerd", "runtimes", runtime}, '\'', nil
	}
	return nil, 0, fmt.Errorf("config version %d: ARCH edits versions 2 (containerd 1.x) and 3 (containerd 2.x)", version)
}

// tomlEdit is the outcome of setBinaryName.
type tomlEdit struct {
	out      []byte
	changed  bool
	version  int
	section  string // header of the options table, as ARCH writes it
	old      string // previous BinaryName
	hadOld   bool
	changes  []string
	warnings []string
}

// setBinaryName sets BinaryName in runtime's options table of the
// containerd configuration data to binary. Lines other than the one it
// changes or adds are kept byte for byte.
func setBinaryName(data []byte, runtime, binary string) (*tomlEdit, error) {
	lines, err := scanTOML(data)
	if err != nil {
		return nil, err
	}
	version, err := configVersion(lines)
	if errors.Is(err, errVersion1) && onlyBlank(lines) {
		return appendMinimal(data, lines, runtime, binary)
	}
	if err != nil {
		return nil, err
	}
	rt, quote, err := runtimePath(version, runtime)
	if err != nil {
		return nil, err
	}
	opt := append(slices.Clone(rt), "options")
	e := &tomlEdit{version: version, section: "[" + formatKey(opt, quote) + "]"}
	hdr := -1
	for i := range lines {
		l := &lines[i]
		if l.kind == lineTable && slices.Equal(l.table, opt) {
			if hdr >= 0 {
				return nil, fmt.Errorf("line %d: table %s defined twice (lines %d and %d)", l.num, e.section, lines[hdr].num, l.num)
			}
			hdr = i
		}
	}
	if hdr < 0 && hasTable(lines, opt) {
		return nil, fmt.Errorf("%s is an array of tables ([[...]]); set BinaryName by hand", e.section)
	}
	if err := checkConflicts(lines, rt, opt, hdr < 0); err != nil {
		return nil, err
	}
	needRuntime := hdr < 0 && !definesTable(lines, rt)
	if hdr < 0 {
		appendTables(e, data, lines, rt, quote, needRuntime, binary)
	} else if err := editInTable(e, lines, hdr, binary); err != nil {
		return nil, err
	}
	if needRuntime && runtime != DefaultRuntime {
		if keys := tableKeys(lines, append(rt[:len(rt)-1:len(rt)-1], DefaultRuntime, "options")); len(keys) > 0 {
			e.warnings = append(e.warnings, fmt.Sprintf("runtime %s's options also set %s; the new runtime %s does not inherit them: copy those it needs (SystemdCgroup must match the kubelet's cgroup driver)", DefaultRuntime, strings.Join(keys, ", "), runtime))
		}
	}
	if !needRuntime && !hasKey(lines, rt, "runtime_type") {
		e.warnings = append(e.warnings, fmt.Sprintf("the file sets no runtime_type in [%s]: containerd then reads it as empty (see `containerd config dump`); it is usually %q", formatKey(rt, quote), runcV2Type))
	}
	return e, nil
}

// tableKeys lists the keys set in the table path (but BinaryName).
func tableKeys(lines []tomlLine, path []string) []string {
	var keys []string
	for _, l := range lines {
		if l.kind == lineKeyValue && slices.Equal(l.table, path) && !slices.Equal(l.key, []string{"BinaryName"}) {
			keys = append(keys, strings.Join(l.key, "."))
		}
	}
	return keys
}

// hasKey reports whether table path sets key (in its own table, or as a
// dotted key or inline table from a table above it).
func hasKey(lines []tomlLine, path []string, key string) bool {
	want := append(slices.Clone(path), key)
	for _, l := range lines {
		if l.kind == lineKeyValue {
			full := l.fullKey()
			if commonPrefix(full, want) == len(full) || commonPrefix(full, want) == len(want) {
				return true
			}
		}
	}
	return false
}

// configVersion reads the root table's version key.
func configVersion(lines []tomlLine) (int, error) {
	for _, l := range lines {
		if l.kind == lineTable || l.kind == lineArrayTable {
			break
		}
		if l.kind == lineKeyValue && slices.Equal(l.key, []string{"version"}) {
			v, err := strconv.Atoi(l.text[l.valStart:l.valEnd])
			if err != nil {
				return 0, fmt.Errorf("line %d: version %q is not a number", l.num, l.text[l.valStart:l.valEnd])
			}
			return v, nil
		}
	}
	return 0, errVersion1
}

func onlyBlank(lines []tomlLine) bool {
	for _, l := range lines {
		if l.kind != lineBlank {
			return false
		}
	}
	return true
}

func hasTable(lines []tomlLine, path []string) bool {
	for _, l := range lines {
		if (l.kind == lineTable || l.kind == lineArrayTable) && slices.Equal(l.table, path) {
			return true
		}
	}
	return false
}

// definesTable reports whether a header defines the table path, or a table
// below it (which creates path implicitly).
func definesTable(lines []tomlLine, path []string) bool {
	for _, l := range lines {
		if (l.kind == lineTable || l.kind == lineArrayTable) && len(l.table) >= len(path) && slices.Equal(l.table[:len(path)], path) {
			return true
		}
	}
	return false
}

// checkConflicts refuses files where a key/value outside the options table
// reaches into the path of the tables ARCH edits or adds: an inline table
// (runtimes = { runc = {...} }, options = {...}) or a dotted key
// (options.BinaryName = ...). A line edit cannot change those safely. When
// ARCH appends the tables (appending), a dotted key that defines the
// runtime's table (runc.runtime_type = ... in [...runtimes]) is refused
// too: the file is unusual enough to be edited by a person. Dotted keys
// that only define tables above the runtime's are fine: TOML allows
// headers of sub-tables below them.
func checkConflicts(lines []tomlLine, rt, opt []string, appending bool) error {
	for _, l := range lines {
		if l.kind != lineKeyValue || len(l.table) >= len(opt) {
			continue
		}
		full := l.fullKey()
		c := commonPrefix(full, opt)
		if c <= len(l.table) {
			continue // the key does not enter ARCH's path
		}
		switch {
		case c == len(opt) || c == len(full):
			// options itself, a key inside it, or an inline table holding it.
			return fmt.Errorf("line %d: %s is set by %q outside its own table; ARCH cannot edit that form safely: set BinaryName by hand", l.num, formatKey(opt, '"'), strings.TrimSpace(l.text))
		case appending && c >= len(rt):
			return fmt.Errorf("line %d: %q defines the runtime's table with a dotted key; ARCH does not add tables below it: set BinaryName by hand", l.num, strings.TrimSpace(l.text))
		}
	}
	return nil
}

func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// editInTable sets BinaryName in the table whose header is lines[hdr]:
// replaces the value of an existing key (keeping its quoting style, the
// spacing and any comment), or adds a line after the header.
func editInTable(e *tomlEdit, lines []tomlLine, hdr int, binary string) error {
	found := -1
	indent := ""
	haveIndent := false
	for i := hdr + 1; i < len(lines) && lines[i].kind != lineTable && lines[i].kind != lineArrayTable; i++ {
		l := &lines[i]
		if l.kind != lineKeyValue {
			continue
		}
		if !haveIndent {
			indent, haveIndent = l.text[:skipSpace(l.text, 0)], true
		}
		if slices.Equal(l.key, []string{"BinaryName"}) {
			if found >= 0 {
				return fmt.Errorf("line %d: BinaryName set twice in %s", l.num, e.section)
			}
			found = i
		}
	}
	if found < 0 {
		if !haveIndent {
			h := lines[hdr].text
			indent = h[:skipSpace(h, 0)] + "  "
		}
		add := indent + "BinaryName = " + quoteString(binary, false)
		e.changed = true
		e.changes = append(e.changes, fmt.Sprintf("line %d: added %s after %s", lines[hdr].num+1, strings.TrimSpace(add), strings.TrimSpace(lines[hdr].text)))
		e.out = render(lines, func(i int, l *tomlLine, b *strings.Builder) {
			if i != hdr {
				b.WriteString(l.text + l.eol)
				return
			}
			b.WriteString(l.text + lineEnd(l, lines) + add + lineEnd(l, lines))
		})
		return nil
	}
	l := &lines[found]
	raw := l.text[l.valStart:l.valEnd]
	old, literal, ok := parseStringValue(raw)
	if l.multiline || !ok {
		return fmt.Errorf("line %d: BinaryName = %s is not a one-line string; set it by hand", l.num, raw)
	}
	e.old, e.hadOld = old, true
	if old == binary {
		e.out = nil
		return nil
	}
	text := l.text[:l.valStart] + quoteString(binary, literal) + l.text[l.valEnd:]
	e.changed = true
	e.changes = append(e.changes, fmt.Sprintf("line %d: %s -> %s", l.num, strings.TrimSpace(l.text), strings.TrimSpace(text)))
	e.out = render(lines, func(i int, m *tomlLine, b *strings.Builder) {
		if i == found {
			b.WriteString(text + m.eol)
			return
		}
		b.WriteString(m.text + m.eol)
	})
	return nil
}

// lineEnd is l's terminator, or for a last line without one, the file's
// usual terminator (a line is added after it).
func lineEnd(l *tomlLine, lines []tomlLine) string {
	if l.eol != "" {
		return l.eol
	}
	return fileEOL(lines)
}

func fileEOL(lines []tomlLine) string {
	if len(lines) > 0 && lines[0].eol == "\r\n" {
		return "\r\n"
	}
	return "\n"
}

// render writes the lines back through emit.
func render(lines []tomlLine, emit func(i int, l *tomlLine, b *strings.Builder)) []byte {
	var b strings.Builder
	for i := range lines {
		emit(i, &lines[i], &b)
	}
	return []byte(b.String())
}
