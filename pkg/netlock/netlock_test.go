package netlock

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// lockRules are CRIU's lock rules (criu/net.c).
const lockRules = "*filter\n:CRIU - [0:0]\n-I INPUT -j CRIU\n-I OUTPUT -j CRIU\n-A CRIU -m mark --mark 0xC114 -j ACCEPT\n-A CRIU -j DROP\nCOMMIT\n"

// netnsProcess starts a process in a new network namespace and returns its
// namespace path once it is in it.
func netnsProcess(t *testing.T) (int, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"unshare", "nsenter", "iptables", "iptables-restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing (hack/install-deps.sh installs it): %v", tool, err)
		}
	}
	cmd := exec.Command("unshare", "--net", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ns := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net"
	ours, _ := os.Readlink("/proc/self/ns/net")
	for deadline := time.Now().Add(10 * time.Second); ; {
		if theirs, err := os.Readlink(ns); err == nil && theirs != ours {
			return cmd.Process.Pid, ns
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare --net never entered a new network namespace")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func locked(ns string) bool {
	return inNetns(context.Background(), ns, "", "iptables", "-w", "-n", "-L", "CRIU") == nil
}

func TestUnlockRemovesCRIUsLock(t *testing.T) {
	pid, ns := netnsProcess(t)
	if err := inNetns(context.Background(), ns, lockRules, "iptables-restore", "-w", "--noflush"); err != nil {
		t.Fatal(err)
	}
	if !locked(ns) {
		t.Fatal("the lock did not take")
	}
	unlocked, err := Unlock(context.Background(), pid)
	if err != nil || !unlocked {
		t.Fatalf("Unlock = %v, %v; want true, nil", unlocked, err)
	}
	if locked(ns) {
		t.Fatal("CRIU's chain is still there")
	}
	if unlocked, err := Unlock(context.Background(), pid); err != nil || unlocked {
		t.Fatalf("second Unlock = %v, %v; want false, nil", unlocked, err)
	}
}

func TestUnlockLeavesTheHostNamespaceAlone(t *testing.T) {
	if unlocked, err := Unlock(context.Background(), os.Getpid()); err != nil || unlocked {
		t.Fatalf("Unlock of our own namespace = %v, %v; want false, nil", unlocked, err)
	}
}
