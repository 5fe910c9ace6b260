package specpatch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// encode marshals v compactly without HTML escaping, so that raw members
// embedded in v keep their bytes.
func encode(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// lookup returns obj[key], refusing an object that holds key under another
// case spelling (encoding/json would match that one too).
func lookup(obj map[string]json.RawMessage, key, where string) (json.RawMessage, bool, error) {
	for k := range obj {
		if k != key && foldKey(k) == foldKey(key) {
			return nil, false, fmt.Errorf("%s: %q next to or instead of %q: %w", where, k, key, ErrAmbiguousKey)
		}
	}
	raw, ok := obj[key]
	return raw, ok, nil
}

// object decodes raw as a JSON object; absent or null gives an empty map. An
// object with clashing keys is refused, since it is about to be re-encoded.
func object(raw json.RawMessage, where string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w: %w", where, ErrNotObject, err)
		}
		if a, b, ok := collision(raw); ok {
			return nil, fmt.Errorf("%s: keys %q and %q: %w", where, a, b, ErrAmbiguousKey)
		}
	}
	if obj == nil {
		obj = map[string]json.RawMessage{}
	}
	return obj, nil
}

// array decodes raw as a JSON array of raw elements; absent or null gives nil.
func array(raw json.RawMessage, where string) ([]json.RawMessage, error) {
	var list []json.RawMessage
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("%s: not a JSON array: %w", where, err)
		}
	}
	return list, nil
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// collision returns two keys of the JSON object raw that encoding/json would
// take for the same field: repeated, or equal under case folding. raw must
// be a valid JSON object; anything else reports no collision.
func collision(raw []byte) (a, b string, found bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", "", false
	}
	seen := map[string]string{} // folded key -> key as written
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		key, _ := tok.(string)
		if prev, ok := seen[foldKey(key)]; ok {
			return prev, key, true
		}
		seen[foldKey(key)] = key
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", "", false
		}
	}
	return "", "", false
}

// foldKey maps s to a representative of its class under Unicode simple case
// folding, the equivalence of strings.EqualFold that encoding/json uses to
// match keys to fields.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
