package netlock

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	return inNetns(context.Background(), ns, "iptables", "-w", "-n", "-L", "CRIU") == nil
}

// lock applies CRIU's lock rules in ns, as CRIU does.
func lock(t *testing.T, ns string) {
	t.Helper()
	cmd := exec.Command("nsenter", "--net="+ns, "--", "iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(lockRules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lock: %v: %s", err, out)
	}
}

func TestUnlockRemovesCRIUsLock(t *testing.T) {
	pid, ns := netnsProcess(t)
	// Two dumps in one shared namespace: two jumps to the chain.
	lock(t, ns)
	lock(t, ns)
	if !locked(ns) {
		t.Fatal("the lock did not take")
	}
	unlocked, err := Unlock(context.Background(), pid)
	if err != nil || !unlocked {
		t.Fatalf("Unlock = %v, %v; want true, nil", unlocked, err)
	}
	if out, _ := inNetnsOutput(context.Background(), ns, "iptables", "-w", "-S"); strings.Contains(out, "CRIU") {
		t.Fatalf("CRIU's lock is still there:\n%s", out)
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

func TestUnlockRemovesCRIUsNftablesLock(t *testing.T) {
	pid, ns := netnsProcess(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatalf("nft missing (hack/install-deps.sh installs it): %v", err)
	}
	if err := inNetns(context.Background(), ns, "nft", "add", "table", "inet", "CRIU-4242"); err != nil {
		t.Fatal(err)
	}
	unlocked, err := Unlock(context.Background(), pid)
	if err != nil || !unlocked {
		t.Fatalf("Unlock = %v, %v; want true, nil", unlocked, err)
	}
	if out, _ := inNetnsOutput(context.Background(), ns, "nft", "list", "tables"); strings.Contains(out, "CRIU") {
		t.Fatalf("CRIU's nftables lock is still there:\n%s", out)
	}
}
