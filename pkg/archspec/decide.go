package archspec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Decision is what ARCH does with a container at create, derived from its
// config.json and the node's configuration. The wrapper acts on it;
// `arch-hook explain` prints it.
type Decision struct {
	Enabled     bool               `json:"enabled"`
	Why         string             `json:"why"`
	Key         string             `json:"key,omitempty"`
	KeySource   bundle.KeySource   `json:"keySource,omitempty"`
	Store       string             `json:"store,omitempty"`
	StoreSource bundle.StoreSource `json:"storeSource,omitempty"`
	// WorkDir is the host folder of the shared work dir (shared-filesystem
	// mode), "" when there is none.
	WorkDir string `json:"workDir,omitempty"`
	// Problem is set when the container opted in but ARCH cannot serve it
	// (a hostile key, a host path the node does not allow): it then runs
	// without ARCH.
	Problem string `json:"problem,omitempty"`
	// Warnings do not stop ARCH (e.g. a relative store path replaced by the default).
	Warnings []string `json:"warnings,omitempty"`

	key        ckpt.Key
	store      saferoot.Location
	workParent saferoot.Location // <shared>/work, when WorkDir is set
	workdir    string            // ARCH_WORKDIR_CONTAINER_PATH, when WorkDir is set
}

// ParsedKey is the validated key (zero when Problem is set).
func (d *Decision) ParsedKey() ckpt.Key { return d.key }

// StoreLocation is where the store is, split at its allowed root.
func (d *Decision) StoreLocation() saferoot.Location { return d.store }

// Usable reports whether ARCH will checkpoint and restore this container.
func (d *Decision) Usable() bool { return d.Enabled && d.Problem == "" }

// Decide derives the decision for a container (its OCI spec) in containerd
// namespace ns with id, given what the node allows its containers to name
// (allowed roots, and the node's store, the default).
func Decide(spec *specs.Spec, ns, id string, allowed saferoot.Allowed) *Decision {
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
	store, ssrc, err := bundle.StorePath(spec, allowed.Store)
	if err != nil {
		d.Warnings = append(d.Warnings, err.Error())
	}
	d.Store, d.StoreSource = store, ssrc
	if err := d.locate(spec, allowed); err != nil {
		d.Problem = err.Error()
	}
	return d
}

// locate places the store and the shared work dir below the roots the node
// allows: a path outside them, or one through a tenant's work dir, is
// refused before anything is created.
func (d *Decision) locate(spec *specs.Spec, allowed saferoot.Allowed) error {
	var shared saferoot.Location
	sharedPath, _ := bundle.Getenv(spec, bundle.EnvSharedFSHostPath)
	workdir, _ := bundle.Getenv(spec, bundle.EnvWorkdirPath)
	sharedUsed := sharedPath != "" && (d.StoreSource == bundle.StoreFromSharedFS || workdir != "")
	if sharedUsed {
		var err error
		if shared, err = allowed.LocateShared(bundle.EnvSharedFSHostPath, sharedPath); err != nil {
			return err
		}
	}
	switch d.StoreSource {
	case bundle.StoreFromCheckpointEnv:
		// The variable as written: cleaning would hide a "..".
		raw, _ := bundle.Getenv(spec, bundle.EnvCheckpointHostPath)
		loc, err := allowed.LocateStore(bundle.EnvCheckpointHostPath, raw)
		if err != nil {
			return err
		}
		d.store = loc
	case bundle.StoreFromSharedFS:
		d.store = shared.Join(ckpt.SharedStoreFolder)
	default:
		d.store = saferoot.Trusted(d.Store)
	}
	d.Store = d.store.Path()
	// Every later call places the record's store again (OpenStore): it
	// must find it where this decision put it.
	if again, err := allowed.LocateStore("checkpoint store", d.Store); err != nil || again.Path() != d.Store {
		return fmt.Errorf("checkpoint store %s cannot be placed again below the node's allowed roots: %v", d.Store, err)
	}
	if sharedUsed && workdir != "" {
		d.workParent = shared.Join(saferoot.WorkFolder)
		d.workParent.Fenced = true
		d.workdir = workdir
		d.WorkDir = d.workParent.Join(d.key.Folder()).Path()
	}
	return nil
}

// CheckPaths resolves the store and the shared work dir as far as they
// exist, without creating anything: an error wrapping saferoot.ErrUnsafe
// when a symlink or a non-folder stands where ARCH expects its own folder,
// and ARCH must not use that root for this container.
func (d *Decision) CheckPaths() error {
	if err := d.store.Check(); err != nil {
		return fmt.Errorf("checkpoint store %s: %w", d.Store, err)
	}
	if d.WorkDir == "" {
		return nil
	}
	if err := d.workParent.Check(); err != nil {
		return fmt.Errorf("shared work dir %s: %w", d.WorkDir, err)
	}
	parent, err := d.workParent.Open()
	if err != nil {
		return nil // missing: MakeWorkDir creates it
	}
	defer parent.Close()
	if st, err := parent.Lstat(d.key.Folder()); err == nil && !st.IsDir() {
		return fmt.Errorf("shared work dir %s: %w: it is not a folder (%s)", d.WorkDir, saferoot.ErrUnsafe, st.Mode().Type())
	}
	return nil
}

// OpenStore opens the checkpoint store at path, which ARCH derived earlier
// (a record's, a drain target's), placed again below what the node allows
// now: a root removed from allowed_roots since is refused.
func OpenStore(allowed saferoot.Allowed, path string) (*ckpt.Store, error) {
	loc, err := allowed.LocateStore("checkpoint store", path)
	if err != nil {
		return nil, err
	}
	return ckpt.Open(loc), nil
}

// Signer loads the image signing key the configuration names
// (image_hmac_key_file); nil, nil when it names none.
func Signer(keyFile string) (*ckpt.Signer, error) {
	if keyFile == "" {
		return nil, nil
	}
	return ckpt.LoadSigner(keyFile)
}
