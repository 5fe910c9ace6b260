package archspec

import (
	"fmt"
	"slices"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/layer"
)

// Identity ties a container to the image it runs from.
type Identity struct {
	Reference string `json:"reference,omitempty"` // image name, when the engine tells (Kubernetes annotation)
	Rootfs    string `json:"rootfs,omitempty"`    // fingerprint of the read-only layers, "" when unknown
	Note      string `json:"note,omitempty"`      // why Rootfs is unknown

	lower []string // the read-only layer folders, for a legacy fingerprint
}

// Identify computes the identity of the container in bundle b (its rootfs
// must be mounted, as it is when runc create is called), with layer digests
// from cache (nil: none).
func Identify(b *bundle.Bundle, cache *layer.DigestCache) Identity {
	id := Identity{Reference: b.Spec.Annotations[bundle.AnnotationImageName]}
	ov, err := layer.FindOverlay(b.Rootfs())
	if err != nil {
		id.Note = err.Error()
		return id
	}
	id.lower = ov.Lower
	fp, err := layer.Identity(ov.Lower, cache)
	if err != nil {
		id.Note = err.Error()
		return id
	}
	id.Rootfs = fp
	return id
}

// IdentifyAsync starts Identify and returns a function that waits for its
// result: the walk of a layer the cache does not know yet runs beside the
// dump or the unpack instead of before them.
func IdentifyAsync(b *bundle.Bundle, cache *layer.DigestCache) func() Identity {
	ch := make(chan Identity, 1)
	go func() { ch <- Identify(b, cache) }()
	var id *Identity
	return func() Identity {
		if id == nil {
			v := <-ch
			id = &v
		}
		return *id
	}
}

// Mismatch says why the image described by m cannot be restored into the
// container in b, or "" when it fits.
func Mismatch(m *ckpt.Manifest, b *bundle.Bundle, ident Identity) string {
	if reason := ProcessMismatch(m, b); reason != "" {
		return reason
	}
	return LayersMismatch(m, ident)
}

// ProcessMismatch is the part of Mismatch known from config.json alone:
// the process, its terminal, and the image name when the engine gives one.
func ProcessMismatch(m *ckpt.Manifest, b *bundle.Bundle) string {
	var args []string
	terminal := false
	if b.Spec.Process != nil {
		args, terminal = b.Spec.Process.Args, b.Spec.Process.Terminal
	}
	if !slices.Equal(m.Process.Args, args) {
		return fmt.Sprintf("process args differ: image %q, container %q", m.Process.Args, args)
	}
	if m.Process.Terminal != terminal {
		// runc restore would hang the caller waiting for a console that
		// never comes, or fail on one that cannot be attached.
		return fmt.Sprintf("terminal differs: image %t, container %t", m.Process.Terminal, terminal)
	}
	ref := b.Spec.Annotations[bundle.AnnotationImageName]
	if m.Image.Reference != "" && ref != "" && m.Image.Reference != ref {
		return fmt.Sprintf("image reference differs: image %s, container %s", m.Image.Reference, ref)
	}
	return ""
}

// LayersMismatch compares the image's layers with the container's: an
// image fingerprinted before per-layer digests is compared with its own
// kind of fingerprint.
func LayersMismatch(m *ckpt.Manifest, ident Identity) string {
	recorded, now := m.Image.RootfsIdentity, ident.Rootfs
	if recorded == "" {
		return ""
	}
	if now == "" {
		// The image knows its layers; the container's cannot be told: an
		// image must never restore into a different one.
		return "the image's layers are fingerprinted and the container's cannot be (" + ident.Note + ")"
	}
	if layer.IsLegacyIdentity(recorded) && len(ident.lower) > 0 {
		var err error
		if now, err = layer.LegacyIdentity(ident.lower); err != nil {
			return "the container's image layers cannot be fingerprinted: " + err.Error()
		}
	}
	if recorded != now {
		return "the container's image layers differ from the checkpointed container's"
	}
	return ""
}

// NetworkMismatch says why image m cannot restore into a container whose
// restore ARCH cannot give its own CRIU configuration file (archConfig
// false): connections dumped without their state need CRIU's tcp-close at
// the restore too, and runc has no flag for it.
func NetworkMismatch(m *ckpt.Manifest, archConfig bool) string {
	if m.Network.TCP == ckpt.TCPClosed && !archConfig {
		return "its TCP connections were dumped to be restored closed (CRIU tcp-close), which ARCH can ask of CRIU only through its own CRIU configuration file, and this container has its own org.criu.config or the node has /etc/criu/runc.conf"
	}
	return ""
}
