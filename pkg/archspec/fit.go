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
}

// Identify computes the identity of the container in bundle b (its rootfs
// must be mounted, as it is when runc create is called).
func Identify(b *bundle.Bundle) Identity {
	id := Identity{Reference: b.Spec.Annotations[bundle.AnnotationImageName]}
	ov, err := layer.FindOverlay(b.Rootfs())
	if err != nil {
		id.Note = err.Error()
		return id
	}
	fp, err := layer.Identity(ov.Lower)
	if err != nil {
		id.Note = err.Error()
		return id
	}
	id.Rootfs = fp
	return id
}

// Mismatch says why the image described by m cannot be restored into the
// container in b, or "" when it fits.
func Mismatch(m *ckpt.Manifest, b *bundle.Bundle, ident Identity) string {
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
	if m.Image.Reference != "" && ident.Reference != "" && m.Image.Reference != ident.Reference {
		return fmt.Sprintf("image reference differs: image %s, container %s", m.Image.Reference, ident.Reference)
	}
	if m.Image.RootfsIdentity != "" && ident.Rootfs != "" && m.Image.RootfsIdentity != ident.Rootfs {
		return "the container's image layers differ from the checkpointed container's"
	}
	return ""
}
