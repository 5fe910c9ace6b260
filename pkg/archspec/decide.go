package archspec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// Decision is what ARCH does with a container at create, derived from its
// config.json alone. The wrapper acts on it; `arch-hook explain` prints it.
type Decision struct {
	Enabled     bool               `json:"enabled"`
	Why         string             `json:"why"`
	Key         string             `json:"key,omitempty"`
	KeySource   bundle.KeySource   `json:"keySource,omitempty"`
	Store       string             `json:"store,omitempty"`
	StoreSource bundle.StoreSource `json:"storeSource,omitempty"`
	// Problem is set when the container opted in but ARCH cannot serve it
	// (a hostile key, a bad path): it then runs without ARCH.
	Problem string `json:"problem,omitempty"`
	// Warnings do not stop ARCH (e.g. a relative store path replaced by the default).
	Warnings []string `json:"warnings,omitempty"`

	key ckpt.Key
}

// ParsedKey is the validated key (zero when Problem is set).
func (d *Decision) ParsedKey() ckpt.Key { return d.key }

// Usable reports whether ARCH will checkpoint and restore this container.
func (d *Decision) Usable() bool { return d.Enabled && d.Problem == "" }

// Decide derives the decision for a container (its OCI spec) in containerd
// namespace ns with id, given the node's default store.
func Decide(spec *specs.Spec, ns, id, defaultStore string) *Decision {
	d := &Decision{}
	d.Enabled, d.Why = bundle.Enabled(spec)
	if !d.Enabled {
		return d
	}
	raw, source := bundle.RawKey(spec, ns, id)
	d.KeySource = source
	key, err := ckpt.ParseKey(raw)
	if err != nil {
		d.Problem = fmt.Sprintf("checkpoint key from %s: %v", source, err)
		return d
	}
	d.key, d.Key = key, key.String()
	store, ssrc, err := bundle.StorePath(spec, defaultStore)
	if err != nil {
		d.Warnings = append(d.Warnings, err.Error())
	}
	d.Store, d.StoreSource = store, ssrc
	return d
}
