package specpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrMountTargetTaken is returned by AddMount when a different mount already
// has the same destination.
var ErrMountTargetTaken = errors.New("mount destination already taken by another mount")

// mountID is the part of a mount that identifies it.
type mountID struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options"`
}

// AddMount appends m to "mounts". When a mount with the same destination,
// source, type and options (in order) is present it does nothing. When a
// different mount has the same destination (compared after path.Clean; a
// parent or child destination does not count) it fails with an error
// wrapping ErrMountTargetTaken and leaves the document unchanged. Existing
// mounts keep their order and bytes. m.Destination must be absolute.
func (d *Doc) AddMount(m specs.Mount) (bool, error) {
	if !path.IsAbs(m.Destination) {
		return false, fmt.Errorf("add mount %q: destination must be absolute", m.Destination)
	}
	raw, _, err := lookup(d.fields, "mounts", "config.json")
	if err != nil {
		return false, fmt.Errorf("add mount %s: %w", m.Destination, err)
	}
	list, err := array(raw, "mounts")
	if err != nil {
		return false, fmt.Errorf("add mount %s: %w", m.Destination, err)
	}
	want := mountID{Destination: cleanDest(m.Destination), Type: m.Type, Source: m.Source, Options: m.Options}
	present := false
	for i, raw := range list {
		var got mountID
		if err := json.Unmarshal(raw, &got); err != nil {
			return false, fmt.Errorf("add mount %s: mounts[%d]: %w", m.Destination, i, err)
		}
		got.Destination = cleanDest(got.Destination)
		if got.Destination != want.Destination {
			continue
		}
		if got.Type != want.Type || got.Source != want.Source || !slices.Equal(got.Options, want.Options) {
			return false, fmt.Errorf("add mount %s: mounts[%d] (type %q, source %q): %w",
				m.Destination, i, got.Type, got.Source, ErrMountTargetTaken)
		}
		present = true
	}
	if present {
		return false, nil
	}
	elem, err := encode(m)
	if err != nil {
		return false, fmt.Errorf("add mount %s: encode: %w", m.Destination, err)
	}
	if err := d.set("mounts", append(list, elem)); err != nil {
		return false, fmt.Errorf("add mount %s: %w", m.Destination, err)
	}
	return true, nil
}

// cleanDest normalizes a mount destination the way runc resolves it: a
// relative destination is taken from the container's root.
func cleanDest(p string) string {
	return path.Clean("/" + p)
}
