package specpatch

import (
	"encoding/json"
	"testing"
)

// FuzzPatch applies ARCH's edits to arbitrary documents. Properties: no
// panic; the output is valid JSON; every top-level key survives, members that
// were not edited are unchanged, every original hook and mount element is
// still there in order, a failed edit changes nothing, and a second round of
// edits changes nothing.
// The seed corpus is in testdata/fuzz/FuzzPatch.
func FuzzPatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		edit := func(d *Doc) {
			for _, mod := range archMods() {
				before, _ := d.Bytes()
				if err := mod(d); err != nil { // fine, but then nothing changed
					if after, _ := d.Bytes(); string(after) != string(before) {
						t.Fatalf("failed edit (%v) changed the document", err)
					}
				}
			}
		}
		edit(d)
		out, err := d.Bytes()
		if err != nil {
			t.Fatalf("Bytes: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %q", out)
		}
		in := generic(t, data).(map[string]any)
		got := generic(t, out).(map[string]any)
		for k, v := range in {
			w, ok := got[k]
			if !ok {
				t.Fatalf("top-level key %q lost", k)
			}
			switch {
			case v == nil && (k == "hooks" || k == "mounts" || k == "annotations"):
				// null is taken as absent and may be replaced
			case k == "hooks":
				inHooks, ok := v.(map[string]any)
				if !ok {
					mustEqual(t, k, w, v) // not an object: must be untouched
					continue
				}
				for stage, list := range inHooks {
					keepsPrefix(t, "hooks."+stage, list, w.(map[string]any)[stage])
				}
			case k == "mounts":
				keepsPrefix(t, k, v, w)
			case k == "annotations":
				inAnn, ok := v.(map[string]any)
				if !ok {
					mustEqual(t, k, w, v)
					continue
				}
				for ak, av := range inAnn { // every annotation stays as it was
					mustEqual(t, "annotations."+ak, w.(map[string]any)[ak], av)
				}
			case k == "process":
				inProc, ok := v.(map[string]any)
				if !ok {
					mustEqual(t, k, w, v)
					continue
				}
				for pk, pv := range inProc {
					if pk != "cwd" {
						mustEqual(t, "process."+pk, w.(map[string]any)[pk], pv)
					}
				}
			default:
				mustEqual(t, k, w, v)
			}
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		edit(again)
		if again.Changed() {
			t.Fatalf("second round of edits changed %q", out)
		}
	})
}

// keepsPrefix fails unless the array before is a prefix of after (or, when
// before is neither an array nor null, after is before).
func keepsPrefix(t *testing.T, what string, before, after any) {
	t.Helper()
	if before == nil {
		return // null is taken as absent and may be replaced
	}
	b, ok := before.([]any)
	if !ok {
		mustEqual(t, what, after, before)
		return
	}
	a, _ := after.([]any)
	if len(a) < len(b) {
		t.Fatalf("%s: %d elements left of %d", what, len(a), len(b))
	}
	mustEqual(t, what, a[:len(b)], b)
}
