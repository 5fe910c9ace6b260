// Package netlock removes the network lock CRIU leaves on a container it
// dumped without letting it run on.
//
// When CRIU dumps a container's network namespace it first locks it: with
// its default iptables method, a "CRIU" chain that drops every packet, hooked
// into INPUT and OUTPUT, for IPv4 and IPv6. It unlocks at the end of a dump
// that leaves the tasks running (--leave-running), and on its own failure,
// but not when the tasks are left stopped or when CRIU is killed. ARCH dumps
// with the tasks left stopped (one iptables round trip less) and kills a
// CRIU that times out, so a container that must go on running afterwards is
// unlocked here, exactly as CRIU would.
package netlock

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// unlockRules are CRIU's own unlock rules (criu/net.c), for iptables-restore
// --noflush: unhook the chain, then delete it.
const unlockRules = "*filter\n:CRIU - [0:0]\n-D INPUT -j CRIU\n-D OUTPUT -j CRIU\n-X CRIU\nCOMMIT\n"

// Unlock removes CRIU's lock from the network namespace of process pid and
// reports whether there was one. A process in ARCH's own network namespace
// is left alone: CRIU locks only a namespace it dumps, never the host's.
func Unlock(ctx context.Context, pid int) (bool, error) {
	nsPath := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	theirs, err := os.Readlink(nsPath)
	if err != nil {
		return false, fmt.Errorf("network unlock: %w", err)
	}
	if ours, err := os.Readlink("/proc/self/ns/net"); err != nil || ours == theirs {
		return false, err
	}
	unlocked := false
	for _, tool := range []string{"iptables", "ip6tables"} {
		if inNetns(ctx, nsPath, "", tool, "-w", "-n", "-L", "CRIU") != nil {
			continue // no CRIU chain (or no such tool: then CRIU could not lock either)
		}
		if err := inNetns(ctx, nsPath, unlockRules, tool+"-restore", "-w", "--noflush"); err != nil {
			return unlocked, fmt.Errorf("network unlock (%s): %w", tool, err)
		}
		unlocked = true
	}
	return unlocked, nil
}

// inNetns runs a command in the network namespace at nsPath with stdin.
func inNetns(ctx context.Context, nsPath, stdin string, args ...string) error {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, nsenter, append([]string{"--net=" + nsPath, "--"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
