package specpatch

import (
	"encoding/json"
	"fmt"
)

// AddAnnotation sets annotations[key] = value unless key is already there:
// an annotation the container's owner set wins, whatever its value (the
// result says whether anything changed). The other annotations keep their
// bytes; a missing or null "annotations" becomes an object.
func (d *Doc) AddAnnotation(key, value string) (bool, error) {
	raw, _, err := lookup(d.fields, "annotations", "config.json")
	if err != nil {
		return false, fmt.Errorf("add annotation %s: %w", key, err)
	}
	obj, err := object(raw, "annotations")
	if err != nil {
		return false, fmt.Errorf("add annotation %s: %w", key, err)
	}
	if _, present, err := lookup(obj, key, "annotations"); err != nil || present {
		if err != nil {
			return false, fmt.Errorf("add annotation %s: %w", key, err)
		}
		return false, nil
	}
	var v json.RawMessage
	if v, err = encode(value); err != nil {
		return false, fmt.Errorf("add annotation %s: encode: %w", key, err)
	}
	obj[key] = v
	if err := d.set("annotations", obj); err != nil {
		return false, fmt.Errorf("add annotation %s: %w", key, err)
	}
	return true, nil
}
