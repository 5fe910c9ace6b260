package install

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// valueState follows a TOML value across lines: open arrays and inline
// tables, and multi-line strings.
type valueState struct {
	depth int    // open [ and { outside strings
	ml    string // `"""` or `'''` while inside a multi-line string
}

// open reports whether the value goes on over the next line.
func (st *valueState) open() bool { return st.depth > 0 || st.ml != "" }

// scan consumes one line of a value (from the value's start, or a whole
// continuation line) and returns where the value's content ends on it:
// the index after its last character that is neither whitespace nor part
// of a comment.
func (st *valueState) scan(s string) (end int, err error) {
	i := 0
	for i < len(s) {
		if st.ml != "" {
			j, closed := closeMultiline(s, i, st.ml)
			i, end = j, j
			if closed {
				st.ml = ""
			}
			continue
		}
		switch c := s[i]; c {
		case ' ', '\t':
			i++
			continue
		case '#':
			return end, nil
		case '"', '\'':
			q := s[i : i+1]
			if strings.HasPrefix(s[i:], q+q+q) {
				st.ml = q + q + q
				i += 3
				end = i
				continue
			}
			n, err := singleLineString(s[i:])
			if err != nil {
				return 0, err
			}
			i += n
		case '[', '{':
			st.depth++
			i++
		case ']', '}':
			if st.depth == 0 {
				return 0, fmt.Errorf("unbalanced %q", c)
			}
			st.depth--
			i++
		default:
			i++
		}
		end = i
	}
	return end, nil
}

// closeMultiline looks for the end of a multi-line string (delimiter
// delim) from s[i]. It returns the index after the closing delimiter (and
// up to two quotes that belong to the content) and true, or len(s) and
// false when the string goes on.
func closeMultiline(s string, i int, delim string) (int, bool) {
	for i < len(s) {
		if delim == `"""` && s[i] == '\\' {
			i += 2
			continue
		}
		if strings.HasPrefix(s[i:], delim) {
			i += 3
			for k := 0; k < 2 && i < len(s) && s[i] == delim[0]; k++ {
				i++
			}
			return i, true
		}
		i++
	}
	return len(s), false
}

// singleLineString returns the length of the "basic" or 'literal' string
// at the start of s.
func singleLineString(s string) (int, error) {
	if s[0] == '\'' {
		j := strings.IndexByte(s[1:], '\'')
		if j < 0 {
			return 0, fmt.Errorf("unterminated literal string")
		}
		return j + 2, nil
	}
	_, n, err := parseBasic(s)
	return n, err
}

// parseBasic decodes the "basic" string at the start of s and returns it
// and its length in s.
func parseBasic(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\\':
			r, n, err := unescape(s[i:])
			if err != nil {
				return "", 0, err
			}
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// unescape decodes the escape sequence at the start of s.
func unescape(s string) (rune, int, error) {
	if len(s) < 2 {
		return 0, 0, fmt.Errorf("unterminated escape")
	}
	simple := map[byte]rune{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', '"': '"', '\\': '\\'}
	if r, ok := simple[s[1]]; ok {
		return r, 2, nil
	}
	digits := map[byte]int{'u': 4, 'U': 8}[s[1]]
	if digits == 0 || len(s) < 2+digits {
		return 0, 0, fmt.Errorf("invalid escape %q", s[:2])
	}
	v, err := strconv.ParseUint(s[2:2+digits], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return 0, 0, fmt.Errorf("invalid escape %q", s[:2+digits])
	}
	return rune(v), 2 + digits, nil
}

// parseStringValue decodes a single-line TOML string value ("basic" or
// 'literal'); ok is false when v is not one.
func parseStringValue(v string) (s string, literal, ok bool) {
	switch {
	case len(v) >= 2 && v[0] == '\'' && !strings.HasPrefix(v, "'''"):
		n, err := singleLineString(v)
		if err != nil || n != len(v) {
			return "", false, false
		}
		return v[1 : n-1], true, true
	case len(v) >= 2 && v[0] == '"' && !strings.HasPrefix(v, `"""`):
		s, n, err := parseBasic(v)
		if err != nil || n != len(v) {
			return "", false, false
		}
		return s, false, true
	}
	return "", false, false
}

// quoteString renders s as a TOML string: 'literal' when literal is
// asked for and s can be one, else "basic".
func quoteString(s string, literal bool) string {
	if literal && !strings.ContainsAny(s, "'\n\r") && !hasControl(s) {
		return "'" + s + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return true
		}
	}
	return false
}

// formatKey renders a key path for a table header, quoting the parts that
// are not bare keys with quote (" or ').
func formatKey(path []string, quote byte) string {
	parts := make([]string, len(path))
	for i, p := range path {
		bare := p != ""
		for j := 0; j < len(p); j++ {
			bare = bare && isBare(p[j])
		}
		switch {
		case bare:
			parts[i] = p
		default:
			parts[i] = quoteString(p, quote == '\'')
		}
	}
	return strings.Join(parts, ".")
}
