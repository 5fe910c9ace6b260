package archspec

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
)

func TestMismatch(t *testing.T) {
	b := func(terminal bool, args ...string) *bundle.Bundle {
		return &bundle.Bundle{Spec: &specs.Spec{Process: &specs.Process{Args: args, Terminal: terminal},
			Annotations: map[string]string{bundle.AnnotationImageName: "docker.io/x:1"}}}
	}
	m := func(terminal bool, ref, rootfs string, args ...string) *ckpt.Manifest {
		return &ckpt.Manifest{Process: ckpt.Process{Args: args, Terminal: terminal},
			Image: ckpt.ImageInfo{Reference: ref, RootfsIdentity: rootfs}}
	}
	ident := Identity{Reference: "docker.io/x:1", Rootfs: "layers-sha256:aa"}
	for _, tc := range []struct {
		name string
		m    *ckpt.Manifest
		b    *bundle.Bundle
		want string // substring of the reason; "" = fits
	}{
		{"same", m(false, "docker.io/x:1", "layers-sha256:aa", "/bin/sh", "-c", "x"), b(false, "/bin/sh", "-c", "x"), ""},
		{"same with a terminal", m(true, "", "", "sh"), b(true, "sh"), ""},
		{"unknown identity fits", m(false, "", "", "sh"), b(false, "sh"), ""},
		{"args", m(false, "", "", "sh", "-c", "a"), b(false, "sh", "-c", "b"), "process args differ"},
		{"terminal lost", m(true, "", "", "sh"), b(false, "sh"), "terminal differs"},
		{"terminal gained", m(false, "", "", "sh"), b(true, "sh"), "terminal differs"},
		{"reference", m(false, "docker.io/x:2", "", "sh"), b(false, "sh"), "image reference differs"},
		{"layers", m(false, "", "layers-sha256:bb", "sh"), b(false, "sh"), "image layers differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Mismatch(tc.m, tc.b, ident)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("Mismatch = %q, want %q", got, tc.want)
			}
		})
	}
}
