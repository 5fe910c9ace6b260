package specpatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hook stages of the OCI runtime spec, the keys of config.json's "hooks".
const (
	StagePrestart        = "prestart" // deprecated by the spec, still run by runc
	StageCreateRuntime   = "createRuntime"
	StageCreateContainer = "createContainer"
	StageStartContainer  = "startContainer"
	StagePoststart       = "poststart"
	StagePoststop        = "poststop"
)

// ErrUnknownStage is returned for a hook stage the spec does not define.
var ErrUnknownStage = errors.New("unknown hook stage")

var stages = []string{
	StagePrestart, StageCreateRuntime, StageCreateContainer,
	StageStartContainer, StagePoststart, StagePoststop,
}

// hookID is the part of a hook that identifies it.
type hookID struct {
	Path string   `json:"path"`
	Args []string `json:"args"`
}

// AddHook appends h to the hooks of stage, unless a hook with the same path
// and args (env and timeout are not compared) is already there. Existing
// hooks keep their order and bytes. h.Path must be absolute.
func (d *Doc) AddHook(stage string, h specs.Hook) (bool, error) {
	if !path.IsAbs(h.Path) {
		return false, fmt.Errorf("add %s hook %q: path must be absolute", stage, h.Path)
	}
	hooks, list, err := d.stage(stage)
	if err != nil {
		return false, fmt.Errorf("add %s hook %s: %w", stage, h.Path, err)
	}
	for i, raw := range list {
		id, err := decodeHookID(raw, stage, i)
		if err != nil {
			return false, fmt.Errorf("add %s hook %s: %w", stage, h.Path, err)
		}
		if id.Path == h.Path && slices.Equal(id.Args, h.Args) {
			return false, nil
		}
	}
	raw, err := encode(h)
	if err != nil {
		return false, fmt.Errorf("add %s hook %s: encode: %w", stage, h.Path, err)
	}
	if err := d.setStage(hooks, stage, append(list, raw)); err != nil {
		return false, fmt.Errorf("add %s hook %s: %w", stage, h.Path, err)
	}
	return true, nil
}

// RemoveHooks drops every hook of stage whose path is hookPath; the others
// keep their order and bytes. A stage left empty is removed from "hooks".
func (d *Doc) RemoveHooks(stage string, hookPath string) (bool, error) {
	hooks, list, err := d.stage(stage)
	if err != nil {
		return false, fmt.Errorf("remove %s hooks %s: %w", stage, hookPath, err)
	}
	kept := list[:0:0]
	for i, raw := range list {
		id, err := decodeHookID(raw, stage, i)
		if err != nil {
			return false, fmt.Errorf("remove %s hooks %s: %w", stage, hookPath, err)
		}
		if id.Path != hookPath {
			kept = append(kept, raw)
		}
	}
	if len(kept) == len(list) {
		return false, nil
	}
	if err := d.setStage(hooks, stage, kept); err != nil {
		return false, fmt.Errorf("remove %s hooks %s: %w", stage, hookPath, err)
	}
	return true, nil
}

// stage returns the decoded "hooks" object and the raw hooks of one stage.
func (d *Doc) stage(stage string) (map[string]json.RawMessage, []json.RawMessage, error) {
	if !slices.Contains(stages, stage) {
		return nil, nil, fmt.Errorf("%q: %w", stage, ErrUnknownStage)
	}
	raw, _, err := lookup(d.fields, "hooks", "config.json")
	if err != nil {
		return nil, nil, err
	}
	hooks, err := object(raw, "hooks")
	if err != nil {
		return nil, nil, err
	}
	rawStage, _, err := lookup(hooks, stage, "hooks")
	if err != nil {
		return nil, nil, err
	}
	list, err := array(rawStage, "hooks."+stage)
	if err != nil {
		return nil, nil, err
	}
	return hooks, list, nil
}

// setStage stores list as the hooks of stage (removing the stage when empty)
// and the hooks object back into the document.
func (d *Doc) setStage(hooks map[string]json.RawMessage, stage string, list []json.RawMessage) error {
	if len(list) == 0 {
		delete(hooks, stage)
	} else {
		raw, err := encode(list)
		if err != nil {
			return fmt.Errorf("encode hooks.%s: %w", stage, err)
		}
		hooks[stage] = raw
	}
	return d.set("hooks", hooks)
}

func decodeHookID(raw json.RawMessage, stage string, i int) (hookID, error) {
	var id hookID
	if err := json.Unmarshal(raw, &id); err != nil {
		return id, fmt.Errorf("hooks.%s[%d]: %w", stage, i, err)
	}
	return id, nil
}
