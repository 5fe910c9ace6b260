package wrapper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/flock"
	"github.com/arch-ckpt/arch/pkg/realrunc"
	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/state"
)

// A scripted runc for the unit tests of the handlers' error paths: each
// step can be made to fail, and what ARCH did to the "container" is kept.
// The container's init is a real process (a sleep, child of the test), so
// that ARCH's /proc checks see it live and die. The proof that the paths
// work with the real runc and CRIU is the e2e suite; these tests prove
// what every failure leaves behind.

// runcStep names a call of the seam, for scripting failures.
type runcStep string

const (
	stepState      runcStep = "state"
	stepPause      runcStep = "pause"
	stepResume     runcStep = "resume"
	stepKillAll    runcStep = "kill --all"
	stepKill       runcStep = "kill"
	stepDelete     runcStep = "delete"
	stepCheckpoint runcStep = "checkpoint"
	stepRestore    runcStep = "restore"
	stepCall       runcStep = "call"
)

type fakeRunc struct {
	t  *testing.T
	mu sync.Mutex
	// fail makes a step fail (its error), freezeFails the first N pauses
	// fail as runc's freezer does.
	fail        map[runcStep]error
	freezeFails int
	// badDumpLog: the dump "succeeds" but its log has no success line.
	badDumpLog bool
	// lingers: a SIGKILLed init stays alive (D state on NFS).
	lingers bool
	// hangs: a step never returns before its context ends (as runc's
	// Runner reports it: ErrTimeout).
	hangs map[runcStep]bool
	// seizeFails is how many dumps fail the way CRIU does when it cannot
	// seize a task in time.
	seizeFails int

	calls  []runcStep
	argv   map[runcStep][]string
	status string // created, running, paused, stopped
	init   *exec.Cmd
}

func newFakeRunc(t *testing.T) *fakeRunc {
	f := &fakeRunc{t: t, fail: map[runcStep]error{}, hangs: map[runcStep]bool{}, argv: map[runcStep][]string{}}
	t.Cleanup(f.stopInit)
	return f
}

// startInit starts the container's init process: the container runs.
func (f *fakeRunc) startInit() {
	f.t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.init, f.status = cmd, "running"
}

func (f *fakeRunc) stopInit() {
	if f.init != nil && f.init.ProcessState == nil {
		f.init.Process.Kill()
		f.init.Wait()
	}
}

// initAlive reports whether the container's init process still runs.
func (f *fakeRunc) initAlive() bool {
	return f.init != nil && f.init.ProcessState == nil
}

func (f *fakeRunc) called(step runcStep) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.calls {
		if s == step {
			n++
		}
	}
	return n
}

func (f *fakeRunc) enter(step runcStep, argv []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, step)
	f.argv[step] = argv
	if err := f.fail[step]; err != nil {
		return err
	}
	return nil
}

func exitErr(args ...string) error { return &realrunc.ExitError{Args: args, Code: 1} }

func (f *fakeRunc) State(ctx context.Context, id string) (*realrunc.State, error) {
	if err := f.enter(stepState, nil); err != nil {
		return nil, err
	}
	if f.init == nil || f.status == "" {
		return nil, exitErr("state", id)
	}
	return &realrunc.State{ID: id, Pid: f.init.Process.Pid, Status: f.status}, nil
}

func (f *fakeRunc) Pids(ctx context.Context, id string) ([]int, error) {
	if f.init == nil {
		return nil, exitErr("ps", id)
	}
	return []int{f.init.Process.Pid}, nil
}

func (f *fakeRunc) Pause(ctx context.Context, id string, out io.Writer) error {
	if err := f.enter(stepPause, nil); err != nil {
		return err
	}
	if f.freezeFails > 0 {
		f.freezeFails--
		if out != nil {
			fmt.Fprintln(out, `level=error msg="unable to freeze"`)
		}
		return exitErr("pause", id)
	}
	f.status = "paused"
	return nil
}

func (f *fakeRunc) Resume(ctx context.Context, id string) error {
	if err := f.enter(stepResume, nil); err != nil {
		return err
	}
	if f.status == "paused" {
		f.status = "running"
	}
	return nil
}

func (f *fakeRunc) Kill(ctx context.Context, id, signal string, all bool) error {
	step := stepKill
	if all {
		step = stepKillAll
	}
	if err := f.enter(step, []string{signal}); err != nil {
		return err
	}
	if signal == "KILL" && !f.lingers {
		f.stopInit()
		f.status = "stopped"
	}
	return nil
}

func (f *fakeRunc) Delete(ctx context.Context, id string, force bool) error {
	if err := f.enter(stepDelete, nil); err != nil {
		return err
	}
	f.stopInit()
	f.init, f.status = nil, ""
	return nil
}

// enterRewritten checks an argv ARCH rewrote (step's subcommand, with
// flag set), then enters step: its scripted failure or hang.
func (f *fakeRunc) enterRewritten(ctx context.Context, step runcStep, argv []string, flag string) (*runccmd.Command, error) {
	cmd, err := runccmd.Parse(argv)
	if err != nil || cmd.Name != string(step) || !cmd.Bool(flag) {
		f.t.Errorf("%s argv %q (want --%s): %v", step, argv, flag, err)
		return nil, errors.New("bad argv")
	}
	if err := f.enter(step, argv); err != nil {
		return nil, err
	}
	if f.hangs[step] {
		<-ctx.Done()
		return nil, fmt.Errorf("%w: %w", realrunc.ErrTimeout, ctx.Err())
	}
	return cmd, nil
}

// Checkpoint writes what runc checkpoint --leave-running would: CRIU's
// images under --image-path, dump.log under --work-path.
func (f *fakeRunc) Checkpoint(ctx context.Context, stdio realrunc.Stdio, argv []string, onStart func()) error {
	cmd, err := f.enterRewritten(ctx, stepCheckpoint, argv, "leave-running")
	if err != nil {
		return err
	}
	images, _ := cmd.Get("image-path")
	work, _ := cmd.Get("work-path")
	os.MkdirAll(images, 0o700)
	os.MkdirAll(work, 0o700)
	os.WriteFile(filepath.Join(images, "inventory.img"), []byte("inventory"), 0o600)
	os.WriteFile(filepath.Join(images, "pages-1.img"), []byte(strings.Repeat("p", 4096)), 0o600)
	log := "(00.000100) Dumping finished successfully\n"
	if f.seizeFails > 0 {
		f.seizeFails--
		log = "(11.598539) Error (criu/cr-dump.c:1655): Timeout reached. Try to interrupt: 0\n" +
			"(11.598942) Error (compel/src/lib/infect.c:262): Unseizable non-zombie 23720 found, state R, err -1/4\n" +
			"(11.599037) Error (criu/cr-dump.c:1975): Dumping FAILED.\n"
		os.WriteFile(filepath.Join(work, "dump.log"), []byte(log), 0o600)
		return exitErr("checkpoint", "c1")
	}
	if f.badDumpLog {
		log = "(00.000100) Error (criu/cr-dump.c:1): something went wrong\n"
	}
	return os.WriteFile(filepath.Join(work, "dump.log"), []byte(log), 0o600)
}

// Restore checks the images are there and "restores": a new init runs.
func (f *fakeRunc) Restore(ctx context.Context, stdio realrunc.Stdio, argv []string, onStart func()) error {
	cmd, err := f.enterRewritten(ctx, stepRestore, argv, "detach")
	if err != nil {
		return err
	}
	images, _ := cmd.Get("image-path")
	if _, err := os.Stat(filepath.Join(images, "pages-1.img")); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	f.startInit()
	return nil
}

func (f *fakeRunc) Call(ctx context.Context, stdio realrunc.Stdio, argv []string, onStart func()) error {
	if err := f.enter(stepCall, argv); err != nil {
		return err
	}
	if slices.Contains(argv, "delete") {
		f.stopInit()
		f.init, f.status = nil, ""
	}
	return nil
}

func (f *fakeRunc) Exec(argv, env []string) error {
	f.t.Errorf("the wrapper exec'd runc %q in a unit test", argv)
	return errors.New("no exec in unit tests")
}

// testNode is a node's ARCH configuration in a temporary folder.
type testNode struct {
	t    *testing.T
	dir  string
	conf string
	root string // the caller's runc --root
}

// newTestNode makes a node; extra lines of arch.conf come after (and
// override) the test defaults.
func newTestNode(t *testing.T, extra string) *testNode {
	dir := t.TempDir()
	conf := filepath.Join(dir, "arch.conf")
	// The hook ARCH injects into config.json: runc would run it; here it
	// only has to exist.
	if err := os.WriteFile(filepath.Join(dir, "arch-hook"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("log_file = %s/arch.log\nstate_dir = %s/state\nstore = %s/store\nstaging_dir = %s/staging\n"+
		"checkpoint_timeout = 20s\nrestore_timeout = 20s\nhook = %s/arch-hook\n%s", dir, dir, dir, dir, dir, extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	orig := unlockNetwork
	unlockNetwork = func(context.Context, int) (bool, error) { return false, nil }
	t.Cleanup(func() { unlockNetwork = orig })
	return &testNode{t: t, dir: dir, conf: conf, root: "/run/containerd/runc/jobs"}
}

// call makes one wrapper call of args (runc's argv without argv[0]) on
// this node, over rc.
func (n *testNode) call(rc runc, args ...string) *call {
	n.t.Helper()
	argv := append([]string{"--root", n.root}, args...)
	env := []string{"ARCH_CONFIG=" + n.conf, "PATH=/usr/bin:/bin"}
	c := &call{argv: append([]string{"runc"}, argv...), env: env, getenv: envLookup(env), rc: rc, self: "/usr/local/bin/arch-wrapper"}
	var err error
	if c.cfg, err = config.Load(c.getenv); err != nil {
		n.t.Fatal(err)
	}
	if c.cmd, err = runccmd.Parse(argv); err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(c.close)
	return c
}

// bundle writes an enabled container's bundle: its process is args.
func (n *testNode) bundle(name string, args ...string) string {
	n.t.Helper()
	b := filepath.Join(n.dir, "bundles", name)
	os.MkdirAll(filepath.Join(b, "rootfs"), 0o755)
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"root":       map[string]any{"path": "rootfs"},
		"process":    map[string]any{"args": args, "env": []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=jobs/train"}, "cwd": "/"},
		"linux":      map[string]any{"namespaces": []map[string]any{{"type": "pid"}, {"type": "network"}, {"type": "mount"}}},
	}
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(b, "config.json"), data, 0o644); err != nil {
		n.t.Fatal(err)
	}
	return b
}

// create runs the wrapper's create of container id from bundle b, and
// reports whether ARCH turned it into a restore.
func (n *testNode) create(rc *fakeRunc, b, id string) bool {
	n.t.Helper()
	code, handled := n.call(rc, "create", "--bundle", b, id).create()
	if handled && code != 0 {
		n.t.Fatalf("create %s: exit %d", id, code)
	}
	if !handled {
		rc.startInit() // the caller's own create, and its start
		rc.status = "running"
	}
	return handled
}

func (n *testNode) record(id string) *state.Record {
	n.t.Helper()
	rec, err := state.NodeRecords(n.dir+"/state").Load(n.root, id)
	if err != nil {
		n.t.Fatalf("record of %s: %v", id, err)
	}
	return rec
}

func (n *testNode) saveRecord(rec *state.Record) {
	n.t.Helper()
	if err := state.NodeRecords(n.dir + "/state").Save(rec); err != nil {
		n.t.Fatal(err)
	}
}

func (n *testNode) store() *ckpt.Store {
	n.t.Helper()
	s, err := ckpt.New(n.dir + "/store")
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

func trainKey(t *testing.T) ckpt.Key {
	k, err := ckpt.ParseKey("jobs/train")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// image is the store's current image of the workload ("" when none).
func (n *testNode) image() string {
	n.t.Helper()
	img, err := n.store().Current(trainKey(n.t))
	if errors.Is(err, ckpt.ErrNoImage) {
		return ""
	}
	if err != nil {
		n.t.Fatalf("store: %v", err)
	}
	defer img.Close()
	return img.Manifest.ImageID
}

// stagingLeft reports what the staging folder still holds.
func (n *testNode) stagingLeft() []string {
	ents, _ := os.ReadDir(n.dir + "/staging")
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	return left
}

// mustBeRestoredBy checks that the key's current image is marked restored
// by container id and that the restore left nothing in staging.
func (n *testNode) mustBeRestoredBy(t *testing.T, id string) {
	t.Helper()
	cur, err := n.store().Current(trainKey(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if cur.Restored == nil || cur.Restored.ContainerID != id {
		t.Errorf("the image is not marked restored by %s: %+v", id, cur.Restored)
	}
	if left := n.stagingLeft(); len(left) > 0 {
		t.Errorf("staging left: %v", left)
	}
}

// locksFree checks that no lock of container id is held.
func (n *testNode) locksFree(id string) {
	n.t.Helper()
	records := state.NodeRecords(n.dir + "/state")
	for _, take := range []func(context.Context) (*flock.Lock, error){
		func(ctx context.Context) (*flock.Lock, error) { return records.Lock(ctx, n.root, id) },
		func(ctx context.Context) (*flock.Lock, error) { return records.FreezeLock(ctx, n.root, id) },
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		l, err := take(ctx)
		cancel()
		if err != nil {
			n.t.Fatalf("a lock of %s is still held: %v", id, err)
		}
		l.Release()
	}
}

func (n *testNode) archLog() string {
	data, _ := os.ReadFile(n.dir + "/arch.log")
	return string(data)
}
