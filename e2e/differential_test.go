package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// TestDifferentialWrapper lives the same container life twice, once with
// plain runc and once with arch-wrapper as the shim's runc binary, and
// requires that a ctr user sees exactly the same thing: statuses, exec
// outputs and exit codes, runc error messages, frozen/moving counts, exit
// status, checkpoint and restore. Both for containers without ARCH and for
// ARCH-enabled ones (ARCH_ENABLE=1), whose checkpoint is left out: what it
// does is ARCH's business, not runc's.
func TestDifferentialWrapper(t *testing.T) {
	testbed.Require(t)
	wrapper := testbed.Binaries(t).Wrapper
	archEnv := testbed.NewArchEnv(t, "")
	in := node(t, "diff", archEnv.Options(t)...)

	for _, tc := range []struct {
		name string
		life life
	}{
		{"c-counter", life{image: testbed.CCounterRef, checkpoint: true}},
		{"shell-counter", life{image: testbed.ShellCounterRef, checkpoint: true}},
		{"c-counter-enabled", life{image: testbed.CCounterRef, enabled: true}},
		{"shell-counter-enabled", life{image: testbed.ShellCounterRef, enabled: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := observe(t, in, "plain-"+tc.name, tc.life)
			wrapped := tc.life
			wrapped.runcBinary = wrapper
			arch := observe(t, in, "arch-"+tc.name, wrapped)
			t.Logf("plain runc saw:\n  %s", strings.Join(plain.lines, "\n  "))
			if !plain.complete() {
				t.Fatalf("the test bed itself fails with plain runc (see above)")
			}
			if diff := compare(plain.lines, arch.lines); diff != "" {
				t.Errorf("arch-wrapper differs from runc:\n%s", diff)
			}
			if tc.life.enabled {
				// The wrapper noticed the ARCH-enabled container.
				log, _ := os.ReadFile(archEnv.LogFile)
				if !strings.Contains(string(log), `"id":"arch-`+tc.name+`"`) {
					t.Errorf("ARCH's log %s never mentions container arch-%s", archEnv.LogFile, tc.name)
				}
			}
		})
	}
}

// complete reports whether the life reached its end with plain runc as
// expected of a healthy test bed.
func (o observation) complete() bool {
	if len(o.lines) == 0 || o.lines[len(o.lines)-1] != "after delete: status=" {
		return false
	}
	for _, l := range o.lines {
		if strings.HasSuffix(l, ": failed") || strings.HasSuffix(l, ": false") {
			return false
		}
	}
	return true
}

// compare lists the lines where want and got differ ("" when equal).
func compare(want, got []string) string {
	var b strings.Builder
	for i := 0; i < len(want) || i < len(got); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			b.WriteString("  runc:    " + w + "\n  wrapper: " + g + "\n")
		}
	}
	return b.String()
}
