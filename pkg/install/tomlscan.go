package install

import (
	"fmt"
	"strings"
)

// lineKind classifies a physical line of a TOML file.
type lineKind int

const (
	lineBlank        lineKind = iota // empty, or only a comment
	lineTable                        // [table] header
	lineArrayTable                   // [[array of tables]] header
	lineKeyValue                     // key = value; the value may go on over the next lines
	lineContinuation                 // inside a multi-line value begun on an earlier line
)

// tomlLine is one physical line of a TOML file as the scanner sees it.
type tomlLine struct {
	num  int    // 1-based line number
	text string // the line without its terminator
	eol  string // "\n", "\r\n", or "" for a last line without one
	kind lineKind
	// table is the header path for header lines, else the table the line
	// belongs to (nil: the root table).
	table []string
	// key is the key path of a key/value line, relative to table.
	key []string
	// text[valStart:valEnd] is the value of a key/value line that fits on
	// it (trailing whitespace and comment excluded); multiline is set when
	// the value goes on over the next lines.
	valStart, valEnd int
	multiline        bool
}

// fullKey is table + key of a key/value line.
func (l *tomlLine) fullKey() []string {
	return append(append([]string(nil), l.table...), l.key...)
}

// scanTOML splits data into lines and classifies them. It is not a TOML
// validator: it understands what locating and editing one table needs, and
// reports what it cannot follow (an unterminated string, a malformed
// header or key) as an error with the line number.
func scanTOML(data []byte) ([]tomlLine, error) {
	var (
		out   []tomlLine
		table []string
		st    valueState
		inVal bool // the previous key/value line's value is still open
	)
	rest := string(data)
	for n := 1; rest != ""; n++ {
		l := tomlLine{num: n}
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			l.text, l.eol, rest = rest[:i], "\n", rest[i+1:]
			if strings.HasSuffix(l.text, "\r") {
				l.text, l.eol = l.text[:len(l.text)-1], "\r\n"
			}
		} else {
			l.text, rest = rest, ""
		}
		var err error
		switch {
		case inVal:
			l.kind, l.table = lineContinuation, table
			_, err = st.scan(l.text)
		default:
			err = classify(&l, &table, &st)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		inVal = st.open()
		out = append(out, l)
	}
	if inVal {
		return nil, fmt.Errorf("line %d: value not closed at end of file", len(out))
	}
	return out, nil
}

// classify fills in a line that does not continue a value; a header
// changes the current table.
func classify(l *tomlLine, table *[]string, st *valueState) error {
	s := l.text
	i := skipSpace(s, 0)
	switch {
	case i == len(s) || s[i] == '#':
		l.kind, l.table = lineBlank, *table
		return nil
	case s[i] == '[':
		return header(l, table, i)
	}
	l.kind, l.table = lineKeyValue, *table
	key, j, err := parseKey(s, i)
	if err != nil {
		return err
	}
	j = skipSpace(s, j)
	if j == len(s) || s[j] != '=' {
		return fmt.Errorf("expected = after key %s", strings.Join(key, "."))
	}
	l.key = key
	l.valStart = skipSpace(s, j+1)
	end, err := st.scan(s[l.valStart:])
	if err != nil {
		return err
	}
	if l.valStart == len(s) || end == 0 && !st.open() {
		return fmt.Errorf("key %s has no value", strings.Join(key, "."))
	}
	l.valEnd = l.valStart + end
	l.multiline = st.open()
	return nil
}

// header parses a [table] or [[array]] header starting at s[i].
func header(l *tomlLine, table *[]string, i int) error {
	s := l.text
	open, close, kind := "[", "]", lineTable
	if strings.HasPrefix(s[i:], "[[") {
		open, close, kind = "[[", "]]", lineArrayTable
	}
	path, j, err := parseKey(s, i+len(open))
	if err != nil {
		return fmt.Errorf("table header: %w", err)
	}
	j = skipSpace(s, j)
	if !strings.HasPrefix(s[j:], close) {
		return fmt.Errorf("table header: expected %s", close)
	}
	j = skipSpace(s, j+len(close))
	if j < len(s) && s[j] != '#' {
		return fmt.Errorf("table header: unexpected text after %s", close)
	}
	l.kind, l.table = kind, path
	*table = path
	return nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// parseKey parses a dotted key (bare, "basic" or 'literal' parts, spaces
// around dots allowed) starting at s[i]; it returns the decoded parts and
// the index after the key.
func parseKey(s string, i int) ([]string, int, error) {
	var path []string
	for {
		i = skipSpace(s, i)
		if i == len(s) {
			return nil, i, fmt.Errorf("key expected")
		}
		var part string
		switch s[i] {
		case '"':
			v, n, err := parseBasic(s[i:])
			if err != nil {
				return nil, i, err
			}
			part, i = v, i+n
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, i, fmt.Errorf("unterminated literal key")
			}
			part, i = s[i+1:i+1+j], i+j+2
		default:
			j := i
			for j < len(s) && isBare(s[j]) {
				j++
			}
			if j == i {
				return nil, i, fmt.Errorf("unexpected %q where a key was expected", s[i])
			}
			part, i = s[i:j], j
		}
		path = append(path, part)
		j := skipSpace(s, i)
		if j == len(s) || s[j] != '.' {
			return path, i, nil
		}
		i = j + 1
	}
}
