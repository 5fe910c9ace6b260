package hookcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/state"
)

// runHook runs arch-hook with args and stdin, returning status and output.
func runHook(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"arch-hook"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// writeConfig writes an ARCH configuration under dir and returns its path.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "arch.conf")
	conf := "log_file = " + dir + "/arch.log\nstate_dir = " + dir + "/state\nstore = " + dir + "/store\nstaging_dir = " + dir + "/staging\n" +
		"allowed_roots = " + dir + "/efs\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeBundle writes a config.json with env into a containerd-style bundle path.
func writeBundle(t *testing.T, dir string, env ...string) string {
	t.Helper()
	b := filepath.Join(dir, "io.containerd.runtime.v2.task", "prod", "c1")
	os.MkdirAll(filepath.Join(b, "rootfs"), 0o755)
	spec := map[string]any{"ociVersion": "1.0.2", "root": map[string]any{"path": "rootfs"},
		"process": map[string]any{"args": []string{"/counter"}, "env": env, "cwd": "/"}}
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(b, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// commitImage puts an image for key into store, for args.
func commitImage(t *testing.T, store, key string, args []string) *ckpt.Manifest {
	t.Helper()
	staging := t.TempDir()
	os.MkdirAll(filepath.Join(staging, "checkpoint"), 0o700)
	os.WriteFile(filepath.Join(staging, "checkpoint", "pages-1.img"), []byte("pages"), 0o600)
	os.WriteFile(filepath.Join(staging, "dump.log"), []byte("(00.1) Dumping finished successfully\n"), 0o600)
	s, err := ckpt.New(store)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ckpt.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Commit(context.Background(), k, staging, ckpt.Meta{ContainerID: "c0", Args: args, Spec: []byte(`{}`)}, ckpt.CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestExplainNotEnabled(t *testing.T) {
	dir := t.TempDir()
	b := writeBundle(t, dir, "PATH=/bin")
	code, out, _ := runHook(t, "", "explain", "--config", writeConfig(t, dir), b)
	if code != 0 || !strings.Contains(out, "enabled:    no") || !strings.Contains(out, "pass through") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestExplainEnabledWithoutImage(t *testing.T) {
	dir := t.TempDir()
	b := writeBundle(t, dir, "ARCH_ENABLE=1")
	code, out, _ := runHook(t, "", "explain", "--config", writeConfig(t, dir), b+"/config.json")
	for _, want := range []string{"enabled:    yes", "key:        prod/c1 (from containerd namespace/container id)",
		"store:      " + dir + "/store", "image:      none", "create fresh", "poststop hook:"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestExplainJSONReportsAValidFittingImage(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "efs")
	b2 := writeBundle(t, dir, "ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=jobs/train", "ARCH_SHAREDFS_HOST_PATH="+store, "ARCH_WORKDIR_CONTAINER_PATH=/work")
	m := commitImage(t, filepath.Join(store, "checkpoint"), "jobs/train", []string{"/counter"})
	code, out, _ := runHook(t, "", "explain", "--json", "--config", writeConfig(t, dir), b2)
	var x Explanation
	if err := json.Unmarshal([]byte(out), &x); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if x.Decision.Key != "jobs/train" || x.Decision.KeySource != bundle.KeyFromEnv || x.Image == nil ||
		!x.Image.Valid || !x.Image.Fits || x.Image.ImageID != m.ImageID || !strings.HasPrefix(x.AtCreate, "restore") {
		t.Fatalf("explanation %+v image %+v", x, x.Image)
	}
	joined := strings.Join(x.Injects, "\n")
	if !strings.Contains(joined, "bind mount: "+store+"/work/jobs%2Ftrain -> /work") || !strings.Contains(joined, "process cwd: /work") {
		t.Fatalf("injects %q", x.Injects)
	}
}

func TestExplainImageThatDoesNotFit(t *testing.T) {
	dir := t.TempDir()
	b := writeBundle(t, dir, "ARCH_ENABLE=1")
	commitImage(t, filepath.Join(dir, "store"), "prod/c1", []string{"/other", "--flag"})
	_, out, _ := runHook(t, "", "explain", "--config", writeConfig(t, dir), b)
	if !strings.Contains(out, "process args differ") || !strings.Contains(out, "create fresh") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestExplainHostileKey(t *testing.T) {
	dir := t.TempDir()
	b := writeBundle(t, dir, "ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=../../etc")
	_, out, _ := runHook(t, "", "explain", "--config", writeConfig(t, dir), b)
	if !strings.Contains(out, "problem:") || !strings.Contains(out, "pass through") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestPoststopKeepsTheImageUnlessTheContainerFinished(t *testing.T) {
	prev := hookBinary
	hookBinary = func() (string, error) { return "", errors.New("no arch-hook in unit tests") }
	t.Cleanup(func() { hookBinary = prev })
	cases := []struct {
		name        string
		record      func(imageID string) state.Record
		wantRemoved bool
	}{
		// Its exit status, which decides, comes from containerd (exit-watch):
		// unknown here, so the image stays.
		{"restored, finished on its own, exit status unknown", func(id string) state.Record { return state.Record{RestoredFrom: id} }, false},
		{"stopped by an ARCH checkpoint", func(id string) state.Record { return state.Record{RestoredFrom: id, CheckpointedImage: "newer"} }, false},
		{"never restored", func(string) state.Record { return state.Record{} }, false},
		{"restored, then killed or force-deleted", func(id string) state.Record { return state.Record{RestoredFrom: id, StopRequested: true} }, false},
		{"restored from an older image", func(string) state.Record { return state.Record{RestoredFrom: "20200101T000000Z-aaaaaaaa"} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			store := filepath.Join(dir, "store")
			m := commitImage(t, store, "prod/c1", nil)
			rec := c.record(m.ImageID)
			rec.ID, rec.Root, rec.Key, rec.Store = "c1", "/run/r", "prod/c1", store
			recPath := filepath.Join(dir, "c1.json")
			if err := state.SaveRecordFile(recPath, &rec); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runHook(t, `{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"}`,
				"poststop", "--record", recPath, "--config", writeConfig(t, dir))
			if code != 0 || out != "" || errOut != "" {
				t.Fatalf("hook: exit %d, out %q, err %q", code, out, errOut)
			}
			s, _ := ckpt.New(store)
			k, _ := ckpt.ParseKey("prod/c1")
			img, err := s.Current(k)
			if img != nil {
				img.Close()
			}
			if removed := err != nil; removed != c.wantRemoved {
				t.Fatalf("image removed = %v, want %v (%v)", removed, c.wantRemoved, err)
			}
		})
	}
}

func TestPoststopNeverFails(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"poststop", "--record", filepath.Join(dir, "missing.json")},
		{"poststop", "--bogus-flag"},
		{"poststop", "--record", "/proc/self/status"},
	} {
		if code, out, _ := runHook(t, "garbage", args...); code != 0 || out != "" {
			t.Fatalf("%v: exit %d, out %q", args, code, out)
		}
	}
}

// TestExplainSaysWhyAHostPathIsRefused: a store or shared root outside the
// allowed roots, or one reached through a symlink, makes the container run
// without ARCH, and explain says why, creating nothing.
func TestExplainSaysWhyAHostPathIsRefused(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "efs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "efs", "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ env, want string }{
		{"ARCH_CHECKPOINT_HOST_PATH=" + outside + "/x", "is not one of the node's allowed_roots"},
		{"ARCH_SHAREDFS_HOST_PATH=" + dir + "/efs/work/evil", "folder named work"},
		{"ARCH_CHECKPOINT_HOST_PATH=" + dir + "/efs/link/store", "symlink"},
	} {
		b := writeBundle(t, t.TempDir(), "ARCH_ENABLE=1", tc.env, "ARCH_WORKDIR_CONTAINER_PATH=/work")
		code, out, _ := runHook(t, "", "explain", "--config", writeConfig(t, dir), b)
		if code != 0 || !strings.Contains(out, "problem:") || !strings.Contains(out, tc.want) ||
			!strings.Contains(out, "at create:  pass through, without ARCH") || !strings.Contains(out, "allowed:    "+dir+"/efs") {
			t.Errorf("%s: exit %d, output:\n%s", tc.env, code, out)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("explain created %v", ents)
	}
}

// TestSettleExitByStatus: a restored container that exited 0 has finished
// (its image goes); any other status keeps the image and notes the status.
func TestSettleExitByStatus(t *testing.T) {
	for _, status := range []int{0, 3, 137} {
		dir := t.TempDir()
		store := filepath.Join(dir, "store")
		m := commitImage(t, store, "prod/c1", nil)
		s, _ := ckpt.New(store)
		k, _ := ckpt.ParseKey("prod/c1")
		if err := s.MarkRestored(k, m.ImageID, ckpt.RestoredInfo{ContainerID: "c1"}); err != nil {
			t.Fatal(err)
		}
		cfg := config.Defaults()
		cfg.Store = store
		log := zerolog.Nop()
		settleExit(cfg, "prod/c1", store, m.ImageID, status, &log)
		img, err := s.Current(k)
		switch {
		case status == 0 && err == nil:
			img.Close()
			t.Fatalf("status 0: the image is still there")
		case status != 0 && err != nil:
			t.Fatalf("status %d: %v", status, err)
		case status != 0:
			got := img.Restored.LastExit
			img.Close()
			if got == nil || *got != status {
				t.Fatalf("status %d: noted %v", status, got)
			}
		}
	}
}

// explain prints what ARCH's record says of a created container: its
// phase and its last checkpoint's state, with the reason it failed.
func TestExplainPrintsTheRecordAndItsCheckpointState(t *testing.T) {
	dir := t.TempDir()
	b := writeBundle(t, dir, "ARCH_ENABLE=1")
	rec := &state.Record{ID: "c1", Root: "/run/containerd/runc/prod", Bundle: b, Key: "prod/c1"}
	ck, err := rec.BeginCheckpoint(time.Now(), false, true)
	if err != nil {
		t.Fatal(err)
	}
	ck.Fail("CRIU dump: exit status 1", time.Now())
	if err := state.NodeRecords(filepath.Join(dir, "state")).Save(rec); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runHook(t, "", "explain", "--config", writeConfig(t, dir), b)
	for _, want := range []string{"record:     runc root /run/containerd/runc/prod: created", "checkpoint: failed since", ": CRIU dump: exit status 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runHook(t, "", "explain", "--json", "--config", writeConfig(t, dir), b)
	var x Explanation
	if err := json.Unmarshal([]byte(out), &x); err != nil || code != 0 {
		t.Fatalf("exit %d, %v:\n%s", code, err, out)
	}
	if len(x.Containers) != 1 || x.Containers[0].Checkpoint == nil || x.Containers[0].Checkpoint.State != state.CheckpointFailed {
		t.Fatalf("containers: %+v", x.Containers)
	}
}
