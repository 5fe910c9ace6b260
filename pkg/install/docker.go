package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DockerOptions says what to change in Docker's daemon.json.
type DockerOptions struct {
	DaemonJSON string // Docker's daemon.json
	Binary     string // absolute path of arch-wrapper
	Name       string // runtime name; "arch" when empty
	SetDefault bool   // also make it Docker's default-runtime
	DryRun     bool
	Now        func() time.Time
}

// Docker adds runtimes.<name>.path = o.Binary to daemon.json (other keys of
// the runtime, such as runtimeArgs, stay), and with SetDefault sets
// default-runtime. Every other key keeps its value as written and its
// place; the file is re-indented (with its own indentation when it has
// one). It never changes default-runtime without SetDefault.
func Docker(o DockerOptions) (*Result, error) {
	if o.Name == "" {
		o.Name = DockerRuntimeName
	}
	warnings, err := checkBinary(o.Binary, o.DryRun)
	if err != nil {
		return nil, err
	}
	t, err := readTarget(o.DaemonJSON)
	if err != nil {
		return nil, err
	}
	r := &Result{Path: t.path, Created: !t.exists, Warnings: warnings}
	doc := &object{}
	if len(bytes.TrimSpace(t.data)) > 0 {
		if doc, err = parseObject(t.data); err != nil {
			return nil, fmt.Errorf("%s: %w", t.path, err)
		}
	}
	if err := setRuntime(doc, r, o); err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	if v, ok := doc.get("default-runtime"); ok {
		json.Unmarshal(v, &r.DefaultRuntime)
	}
	if !r.Changed || o.DryRun {
		return r, nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, doc.marshal(), "", indentOf(t.data)); err != nil {
		return nil, fmt.Errorf("%s: render: %w", t.path, err)
	}
	out.WriteByte('\n')
	r.Backup, err = t.replace(out.Bytes(), 0o644, now(o.Now))
	return r, err
}

// setRuntime edits doc and records the changes in r.
func setRuntime(doc *object, r *Result, o DockerOptions) error {
	runtimes := &object{}
	if v, ok := doc.get("runtimes"); ok {
		var err error
		if runtimes, err = parseObject(v); err != nil {
			return fmt.Errorf("runtimes: %w", err)
		}
	}
	rt := &object{}
	if v, ok := runtimes.get(o.Name); ok {
		var err error
		if rt, err = parseObject(v); err != nil {
			return fmt.Errorf("runtimes.%s: %w", o.Name, err)
		}
	}
	if v, ok := rt.get("path"); ok {
		r.HadOld = true
		if err := json.Unmarshal(v, &r.Old); err != nil {
			return fmt.Errorf("runtimes.%s.path is not a string", o.Name)
		}
	}
	if !r.HadOld || r.Old != o.Binary {
		rt.set("path", jsonString(o.Binary))
		runtimes.set(o.Name, rt.marshal())
		doc.set("runtimes", runtimes.marshal())
		r.Changed = true
		if r.HadOld {
			r.Changes = append(r.Changes, fmt.Sprintf("runtimes.%s.path: %q -> %q", o.Name, r.Old, o.Binary))
		} else {
			r.Changes = append(r.Changes, fmt.Sprintf("runtimes.%s.path = %q added", o.Name, o.Binary))
		}
	}
	if !o.SetDefault {
		return nil
	}
	var cur string
	if v, ok := doc.get("default-runtime"); ok {
		if err := json.Unmarshal(v, &cur); err != nil {
			return fmt.Errorf("default-runtime is not a string")
		}
	}
	if cur != o.Name {
		doc.set("default-runtime", jsonString(o.Name))
		r.Changed = true
		r.Changes = append(r.Changes, fmt.Sprintf("default-runtime: %q -> %q", cur, o.Name))
	}
	return nil
}

// indentOf returns the indentation of the first indented line of data,
// or two spaces.
func indentOf(data []byte) string {
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed != "" && len(trimmed) < len(line) {
			return line[:len(line)-len(trimmed)]
		}
	}
	return "  "
}
