package archspec

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

func specWithEnv(env ...string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Env: append([]string{"ARCH_ENABLE=1"}, env...)}}
}

// TestDecidePlacesEveryPathWhereLaterCallsFindIt: whatever Decide accepts,
// OpenStore (every later call) accepts too, at the same place; what it
// cannot place is refused at once.
func TestDecidePlacesEveryPathWhereLaterCallsFindIt(t *testing.T) {
	allowed := saferoot.Allowed{Roots: []string{"/mnt/efs"}, Store: "/var/lib/arch/checkpoints", Reserved: []string{"/run/arch"}}
	for _, tc := range []struct {
		name    string
		env     []string
		store   string
		workDir string
		problem string
	}{
		{name: "node store", store: "/var/lib/arch/checkpoints"},
		{name: "store below a root", env: []string{"ARCH_CHECKPOINT_HOST_PATH=/mnt/efs/a/"}, store: "/mnt/efs/a"},
		{name: "node store named", env: []string{"ARCH_CHECKPOINT_HOST_PATH=/var/lib/arch/checkpoints"}, store: "/var/lib/arch/checkpoints"},
		{name: "shared root", env: []string{"ARCH_SHAREDFS_HOST_PATH=/mnt/efs/t", "ARCH_WORKDIR_CONTAINER_PATH=/w", "ARCH_CHECKPOINT_KEY=a/b"},
			store: "/mnt/efs/t/checkpoint", workDir: "/mnt/efs/t/work/a%2Fb"},
		{name: "node store as a shared root", env: []string{"ARCH_SHAREDFS_HOST_PATH=/var/lib/arch/checkpoints"}, problem: "is or lies inside ARCH's own folder"},
		{name: "shared root in the node store", env: []string{"ARCH_SHAREDFS_HOST_PATH=/var/lib/arch/checkpoints/x", "ARCH_WORKDIR_CONTAINER_PATH=/w"}, problem: "lies inside ARCH's own folder"},
		{name: "state dir", env: []string{"ARCH_CHECKPOINT_HOST_PATH=/run/arch/containers"}, problem: "lies inside ARCH's own folder"},
		{name: "reserved key", env: []string{"ARCH_CHECKPOINT_KEY=work"}, problem: "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(specWithEnv(tc.env...), "ns", "c1", allowed)
			if tc.problem != "" {
				if d.Usable() || !strings.Contains(d.Problem, tc.problem) {
					t.Fatalf("Decide = %+v, want a problem with %q", d, tc.problem)
				}
				return
			}
			if !d.Usable() || d.Store != tc.store || d.WorkDir != tc.workDir {
				t.Fatalf("Decide = %+v, want store %s, work dir %q", d, tc.store, tc.workDir)
			}
			s, err := OpenStore(allowed, d.Store)
			if err != nil || s.Root() != d.Store {
				t.Fatalf("OpenStore(%s) = %v, %v", d.Store, s, err)
			}
		})
	}
}
