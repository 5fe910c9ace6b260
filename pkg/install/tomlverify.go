package install

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// The line editor of config.toml (containerd_edit.go) is checked by an
// independent reader: a real TOML parser decodes the file before and after
// the edit, and the write is refused unless the edited file means exactly
// what the original meant with BinaryName set. The expected meaning is
// derived from the decoded original and the request alone, never from
// what the editor says it did.

// maxReported bounds the differences an error lists.
const maxReported = 5

// decodeTOML reads data with go-toml into generic maps (tables and inline
// tables: map[string]any; arrays: []any). Empty data is an empty document.
func decodeTOML(data []byte) (map[string]any, error) {
	doc := map[string]any{}
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("line %d, column %d: %w", row, col, err)
		}
		return nil, err
	}
	return doc, nil
}

// checkReadable refuses a configuration the real parser rejects: ARCH
// does not edit a file containerd cannot read either.
func checkReadable(data []byte) error {
	_, err := decodeOriginal(data)
	return err
}

func decodeOriginal(data []byte) (map[string]any, error) {
	doc, err := decodeTOML(data)
	if err != nil {
		return nil, fmt.Errorf("not valid TOML (%w): ARCH does not edit a broken file; fix it first", err)
	}
	return doc, nil
}

// verifyEdit returns nil when after, decoded, is exactly intendedTree of
// before: else an error naming every unexpected difference (the caller
// then writes nothing).
func verifyEdit(before, after []byte, runtime, binary string) error {
	old, err := decodeOriginal(before)
	if err != nil {
		return err
	}
	want, err := intendedTree(old, runtime, binary)
	if err != nil {
		return fmt.Errorf("check of the edit: %w", err)
	}
	got, err := decodeTOML(after)
	if err != nil {
		return fmt.Errorf("refused: the edited file would not be valid TOML (%w); nothing written (a bug in ARCH's editor: set BinaryName by hand)", err)
	}
	if diffs := diffTrees(want, got); len(diffs) > 0 {
		return fmt.Errorf("refused: read back by a TOML parser, the edit changes more than BinaryName: %s; nothing written (a bug in ARCH's editor: set BinaryName by hand)", summarize(diffs))
	}
	return nil
}

// intendedTree is what before must mean after the edit: the runtime's
// options table sets BinaryName = binary (other keys kept); a runtime
// table the file does not have at all is created with runtime_type =
// io.containerd.runc.v2; an empty document (no file, or only comments)
// becomes the minimal version 2 configuration, version = 2 included.
// Nothing else changes.
func intendedTree(before map[string]any, runtime, binary string) (map[string]any, error) {
	want := cloneTables(before)
	version := int64(2)
	if len(before) == 0 {
		want["version"] = version
	} else {
		v, ok := before["version"].(int64)
		if !ok {
			return nil, fmt.Errorf("version = %v is not an integer", before["version"])
		}
		version = v
	}
	rt, _, err := runtimePath(int(version), runtime)
	if err != nil {
		return nil, err
	}
	if _, ok := lookupTable(before, rt); !ok {
		if err := setKey(want, append(slices.Clone(rt), "runtime_type"), runcV2Type); err != nil {
			return nil, err
		}
	}
	if err := setKey(want, append(slices.Clone(rt), "options", "BinaryName"), binary); err != nil {
		return nil, err
	}
	return want, nil
}

// cloneTables copies the tables of doc (values other than tables are
// shared: setKey only changes tables).
func cloneTables(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if t, ok := v.(map[string]any); ok {
			v = cloneTables(t)
		}
		out[k] = v
	}
	return out
}

// lookupTable finds the table at path; ok is false when a part is missing
// or is not a table.
func lookupTable(doc map[string]any, path []string) (map[string]any, bool) {
	t := doc
	for _, k := range path {
		next, ok := t[k].(map[string]any)
		if !ok {
			return nil, false
		}
		t = next
	}
	return t, true
}

// setKey sets path to v, creating the tables on the way.
func setKey(doc map[string]any, path []string, v any) error {
	t := doc
	for i, k := range path[:len(path)-1] {
		switch next := t[k].(type) {
		case map[string]any:
			t = next
		case nil:
			m := map[string]any{}
			t[k], t = m, m
		default:
			return fmt.Errorf("%s is not a table", formatKey(path[:i+1], '"'))
		}
	}
	t[path[len(path)-1]] = v
	return nil
}

// diffTrees lists where got differs from want: keys only one side has,
// and values that differ (tables and arrays compared element by element).
func diffTrees(want, got map[string]any) []string {
	var out []string
	diffValues("", want, got, &out)
	return out
}

func diffValues(path string, want, got any, out *[]string) {
	wt, wok := want.(map[string]any)
	gt, gok := got.(map[string]any)
	if wok && gok {
		keys := make([]string, 0, len(wt)+len(gt))
		for k := range wt {
			keys = append(keys, k)
		}
		for k := range gt {
			if _, ok := wt[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffValues(joinKey(path, k), present(wt, k), present(gt, k), out)
		}
		return
	}
	wa, wok := want.([]any)
	ga, gok := got.([]any)
	if wok && gok && len(wa) == len(ga) {
		for i := range wa {
			diffValues(path+"["+strconv.Itoa(i)+"]", wa[i], ga[i], out)
		}
		return
	}
	if !sameScalar(want, got) {
		*out = append(*out, fmt.Sprintf("%s is %s, want %s", path, describe(got), describe(want)))
	}
}

// absent stands for a key a table does not have.
type absent struct{}

func present(t map[string]any, k string) any {
	if v, ok := t[k]; ok {
		return v
	}
	return absent{}
}

func sameScalar(a, b any) bool {
	if fa, ok := a.(float64); ok {
		if fb, ok := b.(float64); ok && math.IsNaN(fa) && math.IsNaN(fb) {
			return true
		}
	}
	return reflect.DeepEqual(a, b)
}

func joinKey(path, k string) string {
	part := formatKey([]string{k}, '"')
	if path == "" {
		return part
	}
	return path + "." + part
}

// describe renders a value of a difference briefly.
func describe(v any) string {
	switch v := v.(type) {
	case absent:
		return "absent"
	case map[string]any:
		return "a table"
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

func summarize(diffs []string) string {
	if len(diffs) <= maxReported {
		return strings.Join(diffs, "; ")
	}
	return strings.Join(diffs[:maxReported], "; ") + fmt.Sprintf("; and %d more", len(diffs)-maxReported)
}
