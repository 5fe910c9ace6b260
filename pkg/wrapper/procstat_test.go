package wrapper

import (
	"os"
	"os/exec"
	"testing"
)

func TestExitedFollowsAProcessThroughItsDeath(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	start := procStartTime(pid)
	if start == "" || exited(pid, start) {
		t.Fatalf("a running process counts as exited (start %q)", start)
	}
	cmd.Process.Kill()
	// Not reaped yet: a zombie is exited.
	for !exited(pid, start) {
	}
	cmd.Wait()
	if !exited(pid, start) {
		t.Fatal("a reaped process is not exited")
	}
	if !exited(os.Getpid(), "1") {
		t.Fatal("a reused pid (other start time) must count as exited")
	}
}
