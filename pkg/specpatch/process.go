package specpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
)

// ErrNoProcess is returned when an edit needs "process" and the document has
// none: it is not created, since a process without args or user is invalid.
var ErrNoProcess = errors.New("config.json has no process")

// SetCwd sets process.cwd, which must be absolute. The other members of
// process keep their bytes. Setting the value already there is no change.
func (d *Doc) SetCwd(cwd string) (bool, error) {
	if !path.IsAbs(cwd) {
		return false, fmt.Errorf("set process.cwd %q: must be absolute", cwd)
	}
	raw, ok, err := lookup(d.fields, "process", "config.json")
	if err != nil {
		return false, fmt.Errorf("set process.cwd: %w", err)
	}
	if !ok || isNull(raw) {
		return false, fmt.Errorf("set process.cwd: %w", ErrNoProcess)
	}
	proc, err := object(raw, "process")
	if err != nil {
		return false, fmt.Errorf("set process.cwd: %w", err)
	}
	rawCwd, ok, err := lookup(proc, "cwd", "process")
	if err != nil {
		return false, fmt.Errorf("set process.cwd: %w", err)
	}
	if ok {
		var cur *string
		if err := json.Unmarshal(rawCwd, &cur); err != nil {
			return false, fmt.Errorf("set process.cwd: current value: %w", err)
		}
		if cur != nil && *cur == cwd {
			return false, nil
		}
	}
	if proc["cwd"], err = encode(cwd); err != nil {
		return false, fmt.Errorf("set process.cwd: encode: %w", err)
	}
	if err := d.set("process", proc); err != nil {
		return false, fmt.Errorf("set process.cwd: %w", err)
	}
	return true, nil
}
