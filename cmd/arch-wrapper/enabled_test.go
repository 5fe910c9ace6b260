package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// createdEnabled creates the enabled container c1 through the wrapper,
// over a fake runc running body, and returns the node, the fake and the
// wrapper's environment.
func createdEnabled(t *testing.T, body string) (node, *fakeRunc, []string) {
	t.Helper()
	n := newNode(t, "")
	f := newFakeRunc(t, body)
	b := bundle(t, "ARCH_ENABLE=1")
	env := []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}
	run(t, env, createArgs(filepath.Join(b, "log.json"), b, "c1")...)
	return n, f, env
}

func createArgs(runcLog, b, id string) []string {
	return []string{"--root", "/run/containerd/runc/default", "--log", runcLog, "--log-format", "json",
		"create", "--bundle", b, "--pid-file", b + "/init.pid", id}
}

func hooksOf(t *testing.T, b string) []map[string]any {
	t.Helper()
	var spec struct {
		Hooks map[string][]map[string]any `json:"hooks"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(b, "config.json"))), &spec); err != nil {
		t.Fatal(err)
	}
	return spec.Hooks["poststop"]
}

func TestNonEnabledCreateIsUntouched(t *testing.T) {
	n := newNode(t, "")
	f := newFakeRunc(t, "")
	b := bundle(t, "PATH=/bin")
	before := readFile(t, filepath.Join(b, "config.json"))
	argv := createArgs(filepath.Join(b, "log.json"), b, "c1")
	res := run(t, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, argv...)
	if res != (result{}) {
		t.Fatalf("got %+v", res)
	}
	if calls := f.calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
		t.Fatalf("runc saw %q", calls)
	}
	if readFile(t, filepath.Join(b, "config.json")) != before {
		t.Fatal("config.json of a non-enabled container changed")
	}
	if _, err := os.Stat(n.state); err == nil {
		t.Fatal("ARCH wrote state for a non-enabled container")
	}
}

func TestEnabledCreateInjectsTheHookOnceAndRecords(t *testing.T) {
	n := newNode(t, "")
	f := newFakeRunc(t, "")
	b := bundle(t, "ARCH_ENABLE=1", "SECRET=hunter2")
	env := []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}
	argv := createArgs(filepath.Join(b, "log.json"), b, "c1")
	for i := 0; i < 2; i++ { // a retried create patches nothing twice
		if res := run(t, env, argv...); res != (result{}) {
			t.Fatalf("create %d: %+v", i, res)
		}
	}
	calls := f.calls(t)
	if len(calls) != 2 || !reflect.DeepEqual(calls[1], argv) {
		t.Fatalf("with no image the create reaches runc unchanged; runc saw %q", calls)
	}
	hooks := hooksOf(t, b)
	if len(hooks) != 1 || !strings.HasSuffix(hooks[0]["path"].(string), "/arch-hook") {
		t.Fatalf("poststop hooks %v", hooks)
	}
	if !strings.Contains(readFile(t, filepath.Join(b, "config.json")), "futureField") {
		t.Fatal("the patch dropped an unknown field")
	}
	recs, _ := filepath.Glob(filepath.Join(n.state, "containers", "*", "c1.json"))
	if len(recs) != 1 || !strings.Contains(readFile(t, recs[0]), `"key": "default/c1"`) {
		t.Fatalf("records %v", recs)
	}
	if log := readFile(t, n.log); strings.Contains(log, "hunter2") {
		t.Fatal("ARCH's log contains an environment value")
	}
	// The container's CRIU configuration sits next to its record (unless
	// the node has runc's own, which the annotation would replace).
	var spec struct{ Annotations map[string]string }
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(b, "config.json"))), &spec); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(recs[0], ".json") + ".criu.conf"
	if _, err := os.Stat("/etc/criu/runc.conf"); err == nil {
		want = ""
	}
	if got := spec.Annotations["org.criu.config"]; got != want {
		t.Fatalf("org.criu.config = %q, want %q", got, want)
	}
}

func TestStartAndResumeAreAnsweredOnceWhenMarked(t *testing.T) {
	n, f, env := createdEnabled(t, "")
	recs, _ := filepath.Glob(filepath.Join(n.state, "containers", "*", "c1.json"))
	var rec map[string]any
	json.Unmarshal([]byte(readFile(t, recs[0])), &rec)
	rec["skipStart"], rec["skipResume"] = true, true
	data, _ := json.Marshal(rec)
	os.WriteFile(recs[0], data, 0o600)

	root := []string{"--root", "/run/containerd/runc/default"}
	for _, sub := range []string{"start", "resume"} {
		before := len(f.calls(t))
		if res := run(t, env, append(root, sub, "c1")...); res != (result{}) {
			t.Fatalf("%s: %+v", sub, res)
		}
		if len(f.calls(t)) != before {
			t.Fatalf("marked %s reached runc", sub)
		}
		run(t, env, append(root, sub, "c1")...)
		if len(f.calls(t)) != before+1 {
			t.Fatalf("the second %s must go to runc", sub)
		}
	}
}

func TestDeleteForgetsTheContainer(t *testing.T) {
	n, f, env := createdEnabled(t, `[ "$3" = state ] && exit 1; exit 0`)
	argv := []string{"--root", "/run/containerd/runc/default", "delete", "c1"}
	if res := run(t, env, argv...); res != (result{}) {
		t.Fatalf("delete: %+v", res)
	}
	if calls := f.calls(t); !reflect.DeepEqual(calls[len(calls)-1], argv) {
		t.Fatalf("runc saw %q", calls)
	}
	if recs, _ := filepath.Glob(filepath.Join(n.state, "containers", "*", "c1.json")); len(recs) != 0 {
		t.Fatalf("record left after delete: %v", recs)
	}
}

func TestEnabledContainerWithBadInputRunsWithoutArch(t *testing.T) {
	// @ALLOWED@ is the node's allowed root, @OUTSIDE@ a folder outside it
	// that must stay empty.
	cases := []struct {
		name  string
		env   []string
		setup func(t *testing.T, allowed, outside string)
		inLog string
	}{
		{name: "hostile key", env: []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=../../etc"}, inLog: "key"},
		{name: "absolute key", env: []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=/etc/passwd"}, inLog: "key"},
		{name: "relative workdir", env: []string{"ARCH_ENABLE=1", "ARCH_SHAREDFS_HOST_PATH=@ALLOWED@/x", "ARCH_WORKDIR_CONTAINER_PATH=work"}, inLog: "ARCH_WORKDIR_CONTAINER_PATH"},
		{name: "shared root outside the allowed roots", env: []string{"ARCH_ENABLE=1", "ARCH_SHAREDFS_HOST_PATH=@OUTSIDE@/anything", "ARCH_WORKDIR_CONTAINER_PATH=/work"}, inLog: "not one of the node's allowed_roots"},
		{name: "store outside the allowed roots", env: []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_HOST_PATH=@OUTSIDE@/anything"}, inLog: "not one of the node's allowed_roots"},
		{name: "store that climbs out", env: []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_HOST_PATH=@ALLOWED@/../outside/x"}, inLog: `has a .. component`},
		{name: "shared root inside a work folder", env: []string{"ARCH_ENABLE=1", "ARCH_SHAREDFS_HOST_PATH=@ALLOWED@/work/evil", "ARCH_WORKDIR_CONTAINER_PATH=/work"}, inLog: `folder named work`},
		{name: "symlink on the way to the store", env: []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_HOST_PATH=@ALLOWED@/link/store"},
			setup: func(t *testing.T, allowed, outside string) { os.Symlink(outside, filepath.Join(allowed, "link")) }, inLog: "symlink"},
		{name: "symlink as the shared work folder", env: []string{"ARCH_ENABLE=1", "ARCH_SHAREDFS_HOST_PATH=@ALLOWED@/team", "ARCH_WORKDIR_CONTAINER_PATH=/work"},
			setup: func(t *testing.T, allowed, outside string) {
				os.Mkdir(filepath.Join(allowed, "team"), 0o755)
				os.Symlink(outside, filepath.Join(allowed, "team", "work"))
			}, inLog: "symlink"},
		{name: "file as the key's work dir", env: []string{"ARCH_ENABLE=1", "ARCH_CHECKPOINT_KEY=k", "ARCH_SHAREDFS_HOST_PATH=@ALLOWED@", "ARCH_WORKDIR_CONTAINER_PATH=/work"},
			setup: func(t *testing.T, allowed, outside string) {
				os.MkdirAll(filepath.Join(allowed, "work"), 0o755)
				os.WriteFile(filepath.Join(allowed, "work", "k"), nil, 0o644)
			}, inLog: "not a folder"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			allowed, outside := filepath.Join(base, "allowed"), filepath.Join(base, "outside")
			os.Mkdir(allowed, 0o755)
			os.Mkdir(outside, 0o755)
			if c.setup != nil {
				c.setup(t, allowed, outside)
			}
			n := newNode(t, "allowed_roots = "+allowed+"\n")
			f := newFakeRunc(t, "")
			var env []string
			for _, e := range c.env {
				env = append(env, strings.NewReplacer("@ALLOWED@", allowed, "@OUTSIDE@", outside).Replace(e))
			}
			b := bundle(t, env...)
			before := readFile(t, filepath.Join(b, "config.json"))
			runcLog := filepath.Join(b, "log.json")
			argv := createArgs(runcLog, b, "c1")
			if res := run(t, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, argv...); res != (result{}) {
				t.Fatalf("got %+v", res)
			}
			if calls := f.calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
				t.Fatalf("runc saw %q", calls)
			}
			if readFile(t, filepath.Join(b, "config.json")) != before {
				t.Fatal("config.json changed")
			}
			if !strings.Contains(readFile(t, runcLog), c.inLog) {
				t.Fatalf("runc log does not explain: %s", readFile(t, runcLog))
			}
			if _, err := os.Stat(filepath.Join(n.dir, "store")); err == nil {
				t.Fatal("a store folder was created")
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("ARCH created %v outside the allowed root", ents)
			}
			if recs, _ := filepath.Glob(filepath.Join(n.state, "containers", "*", "c1.json")); len(recs) != 0 {
				t.Fatalf("a record was kept: %v", recs)
			}
		})
	}
}

func TestInvalidConfigJSONPassesThrough(t *testing.T) {
	n := newNode(t, "")
	f := newFakeRunc(t, "")
	b := t.TempDir()
	os.WriteFile(filepath.Join(b, "config.json"), []byte("{not json"), 0o644)
	argv := createArgs(filepath.Join(b, "log.json"), b, "c1")
	if res := run(t, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, argv...); res != (result{}) {
		t.Fatalf("got %+v", res)
	}
	if calls := f.calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
		t.Fatalf("runc saw %q", calls)
	}
	if !strings.Contains(readFile(t, n.log), "config.json") {
		t.Fatal("ARCH's log does not mention the bad config.json")
	}
}

func TestContainerIDThatIsAPathEscapesNothing(t *testing.T) {
	for _, id := range []string{"a/b", "../../etc/evil", ".."} {
		t.Run(id, func(t *testing.T) {
			n := newNode(t, "")
			f := newFakeRunc(t, "")
			b := bundle(t, "ARCH_ENABLE=1")
			runcLog := filepath.Join(b, "log.json")
			argv := createArgs(runcLog, b, id)
			if res := run(t, []string{"ARCH_CONFIG=" + n.conf, "ARCH_RUNC=" + f.path}, argv...); res != (result{}) {
				t.Fatalf("got %+v", res)
			}
			if calls := f.calls(t); len(calls) != 1 || !reflect.DeepEqual(calls[0], argv) {
				t.Fatalf("runc saw %q; want the call unchanged (runc rejects the id itself)", calls)
			}
			if !strings.Contains(readFile(t, runcLog), "invalid container id") {
				t.Fatalf("runc log does not explain: %s", readFile(t, runcLog))
			}
			// Nothing was written anywhere but ARCH's own log.
			filepath.Walk(n.dir, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() && p != n.log && p != n.conf {
					t.Errorf("unexpected file %s", p)
				}
				return nil
			})
		})
	}
}

// A checkpoint of an enabled container while ARCH's configuration is
// broken is refused: plain runc would stop the container (exit semantics)
// with its dump nowhere ARCH finds it.
func TestCheckpointRefusedWhileTheConfigurationIsBroken(t *testing.T) {
	n, f, env := createdEnabled(t, "")
	before := len(f.calls(t))
	data, _ := os.ReadFile(n.conf)
	os.WriteFile(n.conf, append(data, []byte("not a config line\n")...), 0o644)
	work := filepath.Join(t.TempDir(), "criu-work")
	res := run(t, env, "--root", "/run/containerd/runc/default", "checkpoint", "--image-path", t.TempDir(), "--work-path", work, "c1")
	if res.code == 0 || !strings.Contains(res.stderr, "checkpoint refused") {
		t.Fatalf("got %+v", res)
	}
	if len(f.calls(t)) != before {
		t.Fatalf("runc was called: %q", f.calls(t)[before:])
	}
	if !strings.Contains(readFile(t, filepath.Join(work, "dump.log")), "checkpoint refused") {
		t.Fatal("the reason is not in the dump.log containerd points the user at")
	}
}

// A checkpoint ARCH cannot serve for an enabled container is refused at
// once, with the reason, and never handed to plain runc (which would stop
// the container without an ARCH image): an unreadable record, and the
// dump options ARCH does not implement.
func TestCheckpointRefusedWhenARCHCannotServeIt(t *testing.T) {
	cases := []struct {
		name   string
		flags  []string
		breakR bool
		why    string
	}{
		{name: "unreadable record", breakR: true, why: "record is unreadable"},
		{name: "lazy pages", flags: []string{"--lazy-pages"}, why: "--lazy-pages"},
		{name: "page server", flags: []string{"--page-server", "127.0.0.1:9999"}, why: "--page-server"},
		{name: "pre-dump", flags: []string{"--pre-dump"}, why: "--pre-dump"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, f, env := createdEnabled(t, "")
			before := len(f.calls(t))
			if tc.breakR {
				recs, _ := filepath.Glob(filepath.Join(n.state, "containers", "*", "c1.json"))
				if len(recs) != 1 {
					t.Fatalf("records: %v", recs)
				}
				os.WriteFile(recs[0], []byte("{not json"), 0o600)
			}
			args := append([]string{"--root", "/run/containerd/runc/default", "checkpoint", "--image-path", t.TempDir()}, tc.flags...)
			res := run(t, env, append(args, "c1")...)
			if res.code == 0 || !strings.Contains(res.stderr, "checkpoint refused") || !strings.Contains(res.stderr, tc.why) {
				t.Fatalf("got %+v", res)
			}
			if len(f.calls(t)) != before {
				t.Fatalf("runc was called: %q", f.calls(t)[before:])
			}
		})
	}
}
