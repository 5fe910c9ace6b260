package hookcli

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/pkg/drain"
)

// drainCLI runs arch-hook with args; it returns status, stdout, stderr.
func drainCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"arch-hook"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// drainConfig writes an ARCH configuration under a temporary folder.
func drainConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "arch.conf")
	conf := "log_file = " + dir + "/arch.log\nstore = " + dir + "/store\nstate_dir = " + dir + "/state\nstaging_dir = " + dir + "/staging\n" + extra
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckpointAllRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"checkpoint-all", "--parallel", "0"},
		{"checkpoint-all", "--deadline", "-1s"},
		{"checkpoint-all", "extra-argument"},
		{"watch-spot", "--interval", "0s"},
		{"watch-spot", "--endpoint", "169.254.169.254"},
		{"watch-spot", "--token-ttl", "7h"},
	} {
		if code, _, stderr := drainCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d (stderr %q); want 2", args, code, stderr)
		}
	}
}

func TestCheckpointAllRefusesABrokenConfiguration(t *testing.T) {
	conf := drainConfig(t, "compression = lz4\n")
	for _, cmd := range []string{"checkpoint-all", "watch-spot"} {
		code, _, stderr := drainCLI(t, cmd, "--config", conf, "--address", "/nonexistent.sock")
		if code != 2 || !strings.Contains(stderr, "compression") {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming the bad line", cmd, code, stderr)
		}
	}
	if _, _, stderr := drainCLI(t, "checkpoint-all", "--config", conf); !strings.Contains(stderr, "refusing") {
		t.Errorf("checkpoint-all does not say why it refuses: %q", stderr)
	}
}

func TestCheckpointAllWithoutContainerd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	code, _, stderr := drainCLI(t, "checkpoint-all", "--config", drainConfig(t, ""), "--address", sock, "--json")
	if code != 1 || !strings.Contains(stderr, "containerd socket") {
		t.Fatalf("missing socket: exit %d, stderr %q; want 1", code, stderr)
	}
	// A socket nobody listens on (containerd died).
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	code, _, stderr = drainCLI(t, "checkpoint-all", "--config", drainConfig(t, ""), "--address", sock)
	if code != 1 || !strings.Contains(stderr, "list containerd namespaces") {
		t.Fatalf("dead socket: exit %d, stderr %q; want 1 and containerd's error", code, stderr)
	}
}

func TestCheckpointAllDryRunFailsLikeTheRun(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	code, stdout, stderr := drainCLI(t, "checkpoint-all", "--dry-run", "--json", "--config", drainConfig(t, ""), "--address", sock)
	if code != 1 || !strings.Contains(stderr, "containerd socket") || stdout != "" {
		t.Fatalf("missing socket: exit %d, stdout %q, stderr %q; want 1", code, stdout, stderr)
	}
	code, _, stderr = drainCLI(t, "checkpoint-all", "--dry-run", "--config", drainConfig(t, "compression = lz4\n"), "--address", sock)
	if code != 2 || !strings.Contains(stderr, "compression") {
		t.Fatalf("broken configuration: exit %d, stderr %q; want 2", code, stderr)
	}
	if code, _, _ := drainCLI(t, "checkpoint-all", "--dry-run", "--parallel", "0"); code != 2 {
		t.Fatalf("bad flag: exit %d; want 2", code)
	}
	// watch-spot acts on a notice: a dry run there means nothing.
	if code, _, _ := drainCLI(t, "watch-spot", "--dry-run"); code != 2 {
		t.Fatalf("watch-spot --dry-run: exit %d; want 2 (no such flag)", code)
	}
}

// TestDryRunExitStatuses: a script tells "does not fit" and "cannot tell"
// from an error (1) and a usage error (2), and the usage says which is which.
func TestDryRunExitStatuses(t *testing.T) {
	got := []int{verdictStatus(drain.Fits), verdictStatus(drain.DoesNotFit), verdictStatus(drain.CannotTell)}
	if got[0] != 0 || got[1] != ExitDoesNotFit || got[2] != ExitCannotTell {
		t.Fatalf("statuses %v", got)
	}
	seen := map[int]bool{0: true, 1: true, 2: true}
	for _, c := range got[1:] {
		if seen[c] {
			t.Fatalf("status %d is not distinct from 0, 1, 2 and the others", c)
		}
		seen[c] = true
	}
	_, _, usage := drainCLI(t, "checkpoint-all", "--help")
	for _, want := range []string{"--dry-run", "0 fits, 3 does not fit", "4 cannot tell", "1 error"} {
		if !strings.Contains(usage, want) {
			t.Errorf("the usage does not say %q:\n%s", want, usage)
		}
	}
}
