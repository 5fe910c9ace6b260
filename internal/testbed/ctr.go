package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// CtrTimeout bounds every ctr call (a checkpoint that hangs in CRIU must
// fail the test, not block it).
var CtrTimeout = 2 * time.Minute

// Result is what one ctr call printed and its exit code.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// CtrResult runs `ctr -a ADDRESS -n NS args...`. The error is only about
// running ctr (not found, timed out); a failing ctr is a non-zero ExitCode.
func (in *Instance) CtrResult(ns string, args ...string) (Result, error) {
	return runTool("ctr", in.Env, in.Dir, append([]string{"-a", in.Address, "-n", ns}, args...), len(args))
}

// runTool runs a client tool (ctr, docker) for at most CtrTimeout; in
// messages only the last nShown arguments appear (not the socket flags).
func runTool(name string, env []string, dir string, args []string, nShown int) (Result, error) {
	bin, err := LookPath(name)
	if err != nil {
		return Result{}, err
	}
	shown := name + " " + strings.Join(args[len(args)-nShown:], " ")
	ctx, cancel := context.WithTimeout(context.Background(), CtrTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A restored or run task whose stdio is ctr's own keeps nothing open
	// after ctr exits; do not wait for pipes beyond that.
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: dropToolWarnings(stderr.String())}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: timed out after %v (stderr: %s)", shown, CtrTimeout, res.Stderr)
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("%s: %w", shown, err)
	}
	return res, nil
}

// Ctr runs ctr and returns its output (stdout then stderr); a non-zero exit
// is an error that carries that output.
func (in *Instance) Ctr(ns string, args ...string) (string, error) {
	res, err := in.CtrResult(ns, args...)
	out := res.Stdout + res.Stderr
	if err != nil {
		return out, err
	}
	if res.ExitCode != 0 {
		return out, fmt.Errorf("ctr -n %s %s: exit %d: %s", ns, strings.Join(args, " "), res.ExitCode, strings.TrimSpace(out))
	}
	return out, nil
}

// Import loads a test image into namespace ns.
func (in *Instance) Import(ns string, img Image) error {
	_, err := in.Ctr(ns, "image", "import", img.Tar)
	return err
}

// CtrOut runs ctr and returns its stdout only (for output that is parsed or
// binary); a non-zero exit is an error that carries stderr.
func (in *Instance) CtrOut(ns string, args ...string) (string, error) {
	res, err := in.CtrResult(ns, args...)
	if err != nil {
		return res.Stdout, err
	}
	if res.ExitCode != 0 {
		return res.Stdout, fmt.Errorf("ctr -n %s %s: exit %d: %s", ns, strings.Join(args, " "), res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return res.Stdout, nil
}

// Do runs ctr for its effect only: nil, or an error with ctr's output.
func (in *Instance) Do(ns string, args ...string) error {
	_, err := in.Ctr(ns, args...)
	return err
}

// RemoveImages removes images (a checkpoint image, say) and waits for
// containerd's garbage collection (--sync).
func (in *Instance) RemoveImages(ns string, refs ...string) error {
	return in.Do(ns, append([]string{"image", "rm", "--sync"}, refs...)...)
}

// toolWarnings are lines a client tool prints on its own stderr at every
// call, which would mix with a container's stderr in `ctr task exec`:
// containerd 2.2+'s ctr warns that cgroup v1 is deprecated.
var toolWarnings = []string{`level=warning msg="DEPRECATION: The support for cgroup v1 is deprecated`}

// dropToolWarnings removes the toolWarnings lines from stderr.
func dropToolWarnings(stderr string) string {
	if !strings.Contains(stderr, "DEPRECATION") {
		return stderr
	}
	var kept []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		drop := false
		for _, w := range toolWarnings {
			drop = drop || strings.Contains(line, w)
		}
		if !drop {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}
