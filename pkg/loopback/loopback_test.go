package loopback

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestUpInANewNetworkNamespace: a fresh network namespace has lo down;
// Up brings it up once and then finds it up.
func TestUpInANewNetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a new network namespace)")
	}
	cmd := exec.Command("unshare", "--net", "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	// unshare execs sleep once the namespace exists: wait for that.
	self, _ := os.Readlink("/proc/self/ns/net")
	deadline := time.Now().Add(5 * time.Second)
	for {
		ns, _ := os.Readlink("/proc/" + itoa(cmd.Process.Pid) + "/ns/net")
		exe, _ := os.Readlink("/proc/" + itoa(cmd.Process.Pid) + "/exe")
		if ns != "" && ns != self && exe != "" && exe != "/usr/bin/unshare" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never entered its own network namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	changed, err := Up(cmd.Process.Pid)
	if err != nil || !changed {
		t.Fatalf("first Up = %t, %v; want lo brought up", changed, err)
	}
	if changed, err := Up(cmd.Process.Pid); err != nil || changed {
		t.Fatalf("second Up = %t, %v; want lo already up", changed, err)
	}
	// The caller's own namespace is untouched: its threads never entered.
	if now, _ := os.Readlink("/proc/self/ns/net"); now != self {
		t.Fatalf("the test process changed network namespace: %s -> %s", self, now)
	}
	if _, err := Up(0); err == nil {
		t.Fatal("Up(0) succeeded")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
