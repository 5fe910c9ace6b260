package ckpt

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// checkpointctl reads the archives the ecosystem writes (Podman, CRI-O,
// containerd); ours must be among them.
const checkpointctlPath = "/usr/local/bin/checkpointctl"

// requireTools: in make unit (and so CI) runs, after install-deps, a
// missing tool is a failure, not a skip.
func requireTools() bool {
	return os.Getenv("ARCH_TEST_REQUIRE_TOOLS") != "" || os.Getenv("CI") != ""
}

func TestCheckpointctlShowReadsOurArchives(t *testing.T) {
	bin := checkpointctlPath
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("checkpointctl"); err != nil {
			// make unit (and so CI) runs after install-deps: there, a
			// missing tool is a failure, not a skip.
			if requireTools() {
				t.Fatal("checkpointctl is not installed (hack/install-deps.sh installs it)")
			}
			t.Skip("checkpointctl not installed (run hack/install-deps.sh)")
		}
	}
	for _, tc := range []struct {
		comp     string
		streamed bool
	}{{CompressionZstd, false}, {CompressionNone, false}, {CompressionZstd, true}, {CompressionNone, true}} {
		t.Run(fmt.Sprintf("%s/streamed=%v", tc.comp, tc.streamed), func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "default/c1")
			staging := makeStaging(t, stagingOpts{pages: 1 << 20, optional: true})
			if !tc.streamed {
				commit(t, s, key, staging, tc.comp)
			} else {
				// The pages file already exists: the follower streams it
				// at the end, its header patched, as during a dump.
				in, err := s.BeginCommit(context.Background(), key, staging, CommitOptions{Compression: tc.comp, Follow: true})
				must(t, err)
				_, err = in.Commit(context.Background(), testMeta())
				must(t, err)
				if in.Stats.Streamed != 1<<20 {
					t.Fatalf("streamed %d bytes", in.Stats.Streamed)
				}
			}
			img := current(t, s, key)
			out, err := exec.Command(bin, "show", img.ArchivePath()).CombinedOutput()
			if err != nil {
				t.Fatalf("checkpointctl show: %v\n%s", err, out)
			}
			for _, want := range []string{"containerd", "ctr", "1.0 MiB"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("checkpointctl show does not mention %q:\n%s", want, out)
				}
			}
			t.Logf("\n%s", out)
		})
	}
}
