// Package lib holds the shell libraries of hack/; this test runs their
// CRIU checks against fake and real CRIUs.
package lib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireCriuTCP runs require_criu_tcp from criu.sh on criu and returns
// its exit status and stderr.
func requireCriuTCP(t *testing.T, criu string) (int, string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", `. ./criu.sh && require_criu_tcp "$1" && echo accepted`, "bash", criu)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code == 0 && strings.TrimSpace(string(out)) != "accepted" {
		t.Fatalf("require_criu_tcp returned 0 without accepting: %q", out)
	}
	return code, stderr.String()
}

// TestInstallDepsRefusesACriuThatCannotDumpTCP: a CRIU that passes `criu
// check` but fails the dump of a listening TCP socket the way CRIU 4.1 does
// on Linux >= 6.16 is refused, with CRIU's reason.
func TestInstallDepsRefusesACriuThatCannotDumpTCP(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Fatal("perl is part of every Debian (perl-base): ", err)
	}
	fake := filepath.Join(t.TempDir(), "criu")
	script := `#!/bin/sh
case "$1" in
--version) echo "Version: 4.1.1" ;;
check) echo "Looks good." ;;
dump)
  while [ $# -gt 0 ]; do [ "$1" = -D ] && dir=$2; shift; done
  echo "Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported" >"$dir/dump.log"
  exit 1 ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	code, stderr := requireCriuTCP(t, fake)
	if code == 0 || !strings.Contains(stderr, "cannot dump a listening TCP socket") ||
		!strings.Contains(stderr, "Can't get 1:16 opt") || !strings.Contains(stderr, "Version: 4.1.1") {
		t.Fatalf("a CRIU that cannot dump TCP was not refused: exit %d\n%s", code, stderr)
	}
}

// TestInstalledCriuDumpsTCP: the CRIU install-deps installs passes the same
// check (in CI, where install-deps ran before the tests).
func TestInstalledCriuDumpsTCP(t *testing.T) {
	const launcher = "/usr/local/sbin/criu"
	if _, err := os.Stat(launcher); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("ARCH_E2E") != "" || os.Getenv("ARCH_TEST_REQUIRE_TOOLS") != "" {
			t.Fatalf("install-deps installed no CRIU: %v", err)
		}
		t.Skip("no CRIU installed (run hack/install-deps.sh)")
	}
	if os.Geteuid() != 0 {
		t.Skip("CRIU dumps need root")
	}
	if code, stderr := requireCriuTCP(t, launcher); code != 0 {
		t.Fatalf("the installed CRIU cannot dump a listening TCP socket: exit %d\n%s", code, stderr)
	}
}
