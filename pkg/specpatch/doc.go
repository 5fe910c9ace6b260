// Package specpatch edits an OCI runtime bundle's config.json without losing
// anything the editor does not understand.
//
// The document is kept as raw JSON: only the parts being edited (the hooks
// object and one of its stages, the mounts array, the process object) are
// decoded, and even then every existing element is carried as its original
// raw bytes. Fields unknown to the runtime-spec types, future fields and
// numbers of any size therefore survive; numbers are never converted through
// float64. Edits are idempotent, and a document that needs no edit is never
// rewritten: PatchFile leaves such a file alone and Bytes returns the input.
//
// runc decodes config.json with encoding/json, which matches keys
// case-insensitively and lets a repeated key override or merge into the
// earlier one. An object this package must decode and re-encode (the top
// level, "hooks", "process") that holds the same key twice, or two spellings
// of one key ("Hooks" and "hooks"), or the edited key only under another
// spelling, is ambiguous: edits to it fail with ErrAmbiguousKey rather than
// guess what runc would see. Elements kept raw are only re-indented, so such
// keys inside them are harmless.
package specpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotObject is returned by Parse when the document is valid JSON but not a
// JSON object, and by edits when a part they edit has the wrong JSON type.
var ErrNotObject = errors.New("not a JSON object")

// ErrAmbiguousKey is returned when an object an edit must rewrite repeats a
// key or spells it twice with different case, so that what runc would see is
// unclear.
var ErrAmbiguousKey = errors.New("key repeated or present under another case spelling")

// Doc is a parsed config.json. The zero value is not usable; call Parse.
type Doc struct {
	orig      []byte                     // input, returned by Bytes while unchanged
	fields    map[string]json.RawMessage // top-level members, raw
	collision error                      // non-nil: top-level keys clash, no rewrite allowed
	changed   bool
}

// Parse reads a config.json. It fails when data is not valid JSON or its
// top-level value is not an object (errors.Is(err, ErrNotObject)).
func Parse(data []byte) (*Doc, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("parse config.json: top-level value is %s: %w", typeErr.Value, ErrNotObject)
		}
		return nil, fmt.Errorf("parse config.json: invalid JSON: %w", err)
	}
	if fields == nil { // the document is the literal null
		return nil, fmt.Errorf("parse config.json: top-level value is null: %w", ErrNotObject)
	}
	d := &Doc{orig: bytes.Clone(data), fields: fields}
	if a, b, ok := collision(data); ok {
		d.collision = fmt.Errorf("config.json: keys %q and %q: %w", a, b, ErrAmbiguousKey)
	}
	return d, nil
}

// Changed reports whether any edit so far has modified the document.
func (d *Doc) Changed() bool { return d.changed }

// Bytes serializes the document. While nothing has changed it returns the
// input unmodified; otherwise it returns the members tab-indented as runc
// writes them, with keys sorted and a trailing newline.
func (d *Doc) Bytes() ([]byte, error) {
	if !d.changed {
		return bytes.Clone(d.orig), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<", ">" and "&" as they were written
	enc.SetIndent("", "\t")
	if err := enc.Encode(d.fields); err != nil {
		return nil, fmt.Errorf("serialize config.json: %w", err)
	}
	return buf.Bytes(), nil
}

// Spec decodes the current document into the runtime-spec types, the view
// runc will have of it. Fields unknown to those types are not in the result
// but stay in the document.
func (d *Doc) Spec() (*specs.Spec, error) {
	data, err := d.Bytes()
	if err != nil {
		return nil, err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode config.json as an OCI spec: %w", err)
	}
	return &s, nil
}

// set stores v under a top-level key and marks the document changed. It
// fails, leaving the document alone, when the top level has clashing keys:
// re-encoding it would merge or reorder them and change what runc sees.
func (d *Doc) set(key string, v any) error {
	if d.collision != nil {
		return d.collision
	}
	raw, err := encode(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	d.fields[key] = raw
	d.changed = true
	return nil
}
