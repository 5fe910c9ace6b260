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

// Unlock removes CRIU's lock from the network namespace of process pid and
// reports whether there was one. A process in ARCH's own network namespace
// is left alone: CRIU locks only a namespace it dumps, never the host's.
//
// Both of CRIU's methods are undone. iptables (the default): the jumps to
// the "CRIU" chain, as many as there are (two dumps in one shared
// namespace each add theirs), then the chain. nftables (a CRIU built or
// configured for it): the "inet CRIU-*" tables.
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
		found, err := unlockIptables(ctx, nsPath, tool)
		if err != nil {
			return unlocked, fmt.Errorf("network unlock (%s): %w", tool, err)
		}
		unlocked = unlocked || found
	}
	found, err := unlockNftables(ctx, nsPath)
	if err != nil {
		return unlocked, fmt.Errorf("network unlock (nft): %w", err)
	}
	return unlocked || found, nil
}

// unlockIptables removes CRIU's chain and every jump to it.
func unlockIptables(ctx context.Context, nsPath, tool string) (bool, error) {
	if inNetns(ctx, nsPath, tool, "-w", "-n", "-L", "CRIU") != nil {
		return false, nil // no CRIU chain (or no such tool: then CRIU could not lock either)
	}
	for _, hook := range []string{"INPUT", "OUTPUT"} {
		for inNetns(ctx, nsPath, tool, "-w", "-C", hook, "-j", "CRIU") == nil {
			if err := inNetns(ctx, nsPath, tool, "-w", "-D", hook, "-j", "CRIU"); err != nil {
				return true, err
			}
		}
	}
	if err := inNetns(ctx, nsPath, tool, "-w", "-F", "CRIU"); err != nil {
		return true, err
	}
	return true, inNetns(ctx, nsPath, tool, "-w", "-X", "CRIU")
}

// unlockNftables deletes CRIU's nftables tables ("inet CRIU-<id>").
func unlockNftables(ctx context.Context, nsPath string) (bool, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return false, nil
	}
	out, err := inNetnsOutput(ctx, nsPath, "nft", "list", "tables")
	if err != nil {
		return false, nil // no nftables support in this kernel: no such lock
	}
	found := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line) // "table inet CRIU-1234"
		if len(f) == 3 && f[0] == "table" && f[1] == "inet" && strings.HasPrefix(f[2], "CRIU-") {
			if err := inNetns(ctx, nsPath, "nft", "delete", "table", "inet", f[2]); err != nil {
				return true, err
			}
			found = true
		}
	}
	return found, nil
}

// inNetns runs a command in the network namespace at nsPath.
func inNetns(ctx context.Context, nsPath string, args ...string) error {
	_, err := inNetnsOutput(ctx, nsPath, args...)
	return err
}

// inNetnsOutput runs a command in the network namespace at nsPath and
// returns its output.
func inNetnsOutput(ctx context.Context, nsPath string, args ...string) (string, error) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, nsenter, append([]string{"--net=" + nsPath, "--"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}
