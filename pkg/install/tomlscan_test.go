package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScanTOMLKinds(t *testing.T) {
	src := strings.Join([]string{
		`a = """x \""" still`,                 // 1 multi-line basic string with an escaped delimiter
		`[not.a.header]`,                      // 2
		`end"""`,                              // 3 closes it
		`b = '''`,                             // 4
		`[nor.this]'''''`,                     // 5 closes with two extra quotes
		`c = [ [1, 2],`,                       // 6 nested array
		`  [3] ] # done`,                      // 7
		`d = { e = "}" } # braces in strings`, // 8
		`"quoted.key" . bare = 'x#y' # c`,     // 9
		`[ t . "u.v" . 'w' ] # header`,        // 10
		`  x = 1`,                             // 11
		`[[arr]]`,                             // 12
		`# comment`,                           // 13
	}, "\n") + "\n"
	lines, err := scanTOML([]byte(src))
	must(t, err)
	want := []struct {
		kind  lineKind
		table []string
		key   []string
		value string
	}{
		{lineKeyValue, nil, []string{"a"}, ""},
		{lineContinuation, nil, nil, ""},
		{lineContinuation, nil, nil, ""},
		{lineKeyValue, nil, []string{"b"}, ""},
		{lineContinuation, nil, nil, ""},
		{lineKeyValue, nil, []string{"c"}, ""},
		{lineContinuation, nil, nil, ""},
		{lineKeyValue, nil, []string{"d"}, `{ e = "}" }`},
		{lineKeyValue, nil, []string{"quoted.key", "bare"}, `'x#y'`},
		{lineTable, []string{"t", "u.v", "w"}, nil, ""},
		{lineKeyValue, []string{"t", "u.v", "w"}, []string{"x"}, "1"},
		{lineArrayTable, []string{"arr"}, nil, ""},
		{lineBlank, []string{"arr"}, nil, ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines", len(lines))
	}
	for i, w := range want {
		l := lines[i]
		if l.kind != w.kind || !slices.Equal(l.table, w.table) || !slices.Equal(l.key, w.key) {
			t.Errorf("line %d: kind %d table %q key %q", l.num, l.kind, l.table, l.key)
		}
		if w.value != "" && !l.multiline && l.text[l.valStart:l.valEnd] != w.value {
			t.Errorf("line %d: value %q", l.num, l.text[l.valStart:l.valEnd])
		}
	}
}

func TestScanTOMLErrors(t *testing.T) {
	for _, src := range []string{
		"a = \"unterminated\n",
		"a = [1,\n",
		"[table\n",
		"[t] x = 1\n",
		"key\n",
		"a = \n",
		"a = ]\n",
		"a = \"\\q\"\n",
	} {
		if _, err := scanTOML([]byte(src)); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

// Every test configuration scans, and rendering its lines gives it back.
func TestScanTOMLRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/containerd/*.toml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		must(t, err)
		lines, err := scanTOML(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		out := render(lines, func(_ int, l *tomlLine, b *strings.Builder) { b.WriteString(l.text + l.eol) })
		if string(out) != string(data) {
			t.Errorf("%s: not rendered back", f)
		}
	}
}

func TestQuoting(t *testing.T) {
	for in, want := range map[string]string{
		`/usr/local/bin/arch-wrapper`: `"/usr/local/bin/arch-wrapper"`,
		`/opt/a "b"\c`:                `"/opt/a \"b\"\\c"`,
	} {
		if got := quoteString(in, false); got != want {
			t.Errorf("quoteString(%q) = %s", in, got)
		}
		if back, _, ok := parseStringValue(quoteString(in, false)); !ok || back != in {
			t.Errorf("round trip of %q: %q", in, back)
		}
	}
	if got := quoteString("/it's", true); got != `"/it's"` {
		t.Errorf("literal with a quote: %s", got)
	}
	if got := formatKey([]string{"plugins", "io.containerd.cri.v1.runtime", "x-y_z"}, '\''); got != `plugins.'io.containerd.cri.v1.runtime'.x-y_z` {
		t.Errorf("formatKey: %s", got)
	}
}
