package runccmd

import (
	"slices"
	"testing"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		cmd     string
		id      string
		hasID   bool
		args    []string
		get     map[string]string // subcommand flags that must be present, with value
		absent  []string          // subcommand flags that must be absent
		global  map[string]string // global flags that must be present, with value
		getAll  map[string][]string
		bools   []string // subcommand booleans that must be on
		notBool []string // subcommand booleans that must be off
	}{
		{
			name: "create with console socket", argv: argv(cdGlobal, "create --bundle", cdBundle, "--pid-file", cdBundle+"/init.pid --console-socket /tmp/pty1/pty.sock c1"),
			cmd: "create", id: "c1", hasID: true,
			get:    map[string]string{"bundle": cdBundle, "pid-file": cdBundle + "/init.pid", "console-socket": "/tmp/pty1/pty.sock"},
			absent: []string{"no-pivot", "detach"},
			global: map[string]string{"root": "/run/containerd/runc/default", "log": cdBundle + "/log.json", "log-format": "json"},
		},
		{
			name: "create short bundle", argv: argv("create -b /b c1"),
			cmd: "create", id: "c1", hasID: true, get: map[string]string{"bundle": "/b", "b": "/b"},
		},
		{
			name: "create no-pivot no-new-keyring", argv: argv(cdGlobal, "--systemd-cgroup --debug create --bundle /b --no-pivot --no-new-keyring c1"),
			cmd: "create", id: "c1", hasID: true,
			get: map[string]string{"no-pivot": "", "no-new-keyring": ""}, bools: []string{"no-pivot", "no-new-keyring"},
			global: map[string]string{"systemd-cgroup": "", "debug": ""},
		},
		{
			name: "start", argv: argv(cdGlobal, "start c1"), cmd: "start", id: "c1", hasID: true,
		},
		{
			name: "exec detached", argv: argv(cdGlobal, "exec --process /tmp/runc-process123 --detach --pid-file /b/exec.pid c1"),
			cmd: "exec", id: "c1", hasID: true,
			get: map[string]string{"process": "/tmp/runc-process123", "pid-file": "/b/exec.pid"}, bools: []string{"detach"},
		},
		{
			name: "exec command keeps dashes", argv: []string{"exec", "-t", "c1", "sh", "-c", "echo hi"},
			cmd: "exec", id: "c1", hasID: true, args: []string{"sh", "-c", "echo hi"}, bools: []string{"tty"},
		},
		{
			name: "exec short value flags", argv: []string{"exec", "-p", "/p.json", "-e", "A=1", "-e", "B=2", "-u", "1000", "c1", "true"},
			cmd: "exec", id: "c1", hasID: true, args: []string{"true"},
			get: map[string]string{"process": "/p.json", "env": "B=2", "user": "1000"}, getAll: map[string][]string{"env": {"A=1", "B=2"}},
		},
		{
			name: "kill signal", argv: argv(cdGlobal, "kill c1 9"), cmd: "kill", id: "c1", hasID: true, args: []string{"9"}, absent: []string{"all"},
		},
		{
			name: "kill all", argv: argv(cdGlobal, "kill --all c1 15"), cmd: "kill", id: "c1", hasID: true, args: []string{"15"}, bools: []string{"all"},
		},
		{
			name: "delete force", argv: argv(cdGlobal, "delete --force c1"), cmd: "delete", id: "c1", hasID: true, bools: []string{"force"},
		},
		{
			name: "delete short force", argv: argv("delete -f c1"), cmd: "delete", id: "c1", hasID: true, bools: []string{"force"},
		},
		{
			name: "ps format", argv: argv(cdGlobal, "ps --format json c1"), cmd: "ps", id: "c1", hasID: true, get: map[string]string{"format": "json"},
		},
		{
			name: "ps args after terminator", argv: argv("ps -f table c1 -- -ef"), cmd: "ps", id: "c1", hasID: true,
			args: []string{"--", "-ef"}, get: map[string]string{"format": "table"},
		},
		{
			name: "update resources stdin", argv: argv(cdGlobal, "update --resources - c1"), cmd: "update", id: "c1", hasID: true, get: map[string]string{"resources": "-"},
		},
		{
			name: "update resources eq", argv: argv("update --resources=- c1"), cmd: "update", id: "c1", hasID: true, get: map[string]string{"resources": "-"},
		},
		{
			name: "checkpoint full", argv: argv(cdGlobal, "checkpoint --image-path /img --work-path /work --tcp-established --ext-unix-sk --shell-job --file-locks --empty-ns network --empty-ns ipc --leave-running --status-fd 3 c1"),
			cmd: "checkpoint", id: "c1", hasID: true,
			get:    map[string]string{"image-path": "/img", "work-path": "/work", "status-fd": "3", "empty-ns": "ipc"},
			getAll: map[string][]string{"empty-ns": {"network", "ipc"}},
			bools:  []string{"tcp-established", "ext-unix-sk", "shell-job", "file-locks", "leave-running"},
		},
		{
			name: "checkpoint leave-running off", argv: argv("checkpoint --image-path /img --leave-running=false c1"),
			cmd: "checkpoint", id: "c1", hasID: true, get: map[string]string{"leave-running": "false"}, notBool: []string{"leave-running"},
		},
		{
			name: "restore single dash no-subreaper", argv: argv(cdGlobal, "restore --image-path /img --work-path /w --detach --pid-file /b/init.pid -no-subreaper --bundle /b c1"),
			cmd: "restore", id: "c1", hasID: true,
			get:   map[string]string{"image-path": "/img", "work-path": "/w", "pid-file": "/b/init.pid", "bundle": "/b"},
			bools: []string{"detach", "no-subreaper"},
		},
		{
			name: "features without globals", argv: argv("features"), cmd: "features",
		},
		{
			name: "version", argv: argv("--version"), cmd: "", global: map[string]string{"version": ""},
		},
		{
			name: "short version", argv: argv("-v"), cmd: "", global: map[string]string{"version": ""},
		},
		{
			name: "state", argv: argv(cdGlobal, "state c1"), cmd: "state", id: "c1", hasID: true,
		},
		{
			name: "events", argv: argv(cdGlobal, "events --stats --interval 5s c1"), cmd: "events", id: "c1", hasID: true,
			get: map[string]string{"interval": "5s"}, bools: []string{"stats"},
		},
		{
			name: "list format", argv: argv("list -f json"), cmd: "list", get: map[string]string{"format": "json"},
		},
		{
			name: "help takes no id", argv: argv("help create"), cmd: "help", args: []string{"create"},
		},
		{
			name: "start without id", argv: argv("start"), cmd: "start",
		},
		{
			name: "value flag takes a dash token", argv: argv("create --bundle --x c1"), cmd: "create", id: "c1", hasID: true, get: map[string]string{"bundle": "--x"},
		},
		{
			name: "terminator then dashed id", argv: argv("state -- -weird"), cmd: "state", id: "-weird", hasID: true,
		},
		{
			name: "global terminator", argv: argv("--root /r -- state c1"), cmd: "state", id: "c1", hasID: true, global: map[string]string{"root": "/r"},
		},
		{
			name: "docker runtimeArgs first", argv: argv("--systemd-cgroup --criu /usr/sbin/criu", dkGlobal, "start", dockID),
			cmd: "start", id: dockID, hasID: true,
			global: map[string]string{"systemd-cgroup": "", "criu": "/usr/sbin/criu", "root": "/var/run/docker/runtime-runc/moby"},
		},
		{
			name: "global flag last occurrence wins", argv: argv("--root /a --root=/b state c1"), cmd: "state", id: "c1", hasID: true, global: map[string]string{"root": "/b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.argv)
			if c.Name != tc.cmd || c.ID != tc.id || c.HasID != tc.hasID {
				t.Errorf("Name, ID, HasID = %q, %q, %v; want %q, %q, %v", c.Name, c.ID, c.HasID, tc.cmd, tc.id, tc.hasID)
			}
			if !slices.Equal(c.Args, tc.args) {
				t.Errorf("Args = %q, want %q", c.Args, tc.args)
			}
			for k, want := range tc.get {
				if got, ok := c.Get(k); !ok || got != want {
					t.Errorf("Get(%q) = %q, %v; want %q", k, got, ok, want)
				}
				if !c.Has(k) {
					t.Errorf("Has(%q) = false", k)
				}
			}
			for _, k := range tc.absent {
				if c.Has(k) {
					t.Errorf("Has(%q) = true", k)
				}
			}
			for k, want := range tc.global {
				if got, ok := c.GlobalGet(k); !ok || got != want {
					t.Errorf("GlobalGet(%q) = %q, %v; want %q", k, got, ok, want)
				}
				if !c.GlobalHas(k) {
					t.Errorf("GlobalHas(%q) = false", k)
				}
			}
			for k, want := range tc.getAll {
				if got := c.GetAll(k); !slices.Equal(got, want) {
					t.Errorf("GetAll(%q) = %q, want %q", k, got, want)
				}
			}
			for _, k := range tc.bools {
				if !c.Bool(k) {
					t.Errorf("Bool(%q) = false", k)
				}
			}
			for _, k := range tc.notBool {
				if c.Bool(k) {
					t.Errorf("Bool(%q) = true", k)
				}
			}
		})
	}
}

func TestGlobalFlagsAreSeparateFromSubcommandFlags(t *testing.T) {
	c := mustParse(t, argv("--root /r create --bundle /b c1"))
	if c.Has("root") || c.GlobalHas("bundle") {
		t.Fatalf("global and subcommand flags mixed: %+v", c)
	}
	if c.GlobalBool("debug") || c.GlobalHas("debug") {
		t.Fatal("absent --debug reported present")
	}
	checkArgv(t, "RenderGlobal", c.RenderGlobal(), argv("--root /r"))
}

func TestCanonicalNames(t *testing.T) {
	c := mustParse(t, argv("exec -t -d -u 0 -g 10 -c CAP_KILL -e X=1 -p /p c1"))
	var names []string
	for _, f := range c.Flags {
		names = append(names, f.Name)
	}
	want := []string{"tty", "detach", "user", "additional-gids", "cap", "env", "process"}
	if !slices.Equal(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
}

func TestNamespace(t *testing.T) {
	for root, want := range map[string]string{
		"/run/containerd/runc/k8s.io":        "k8s.io",
		"/run/containerd/runc/default":       "default",
		"/var/run/docker/runtime-runc/moby":  "moby",
		"/var/run/docker/runtime-runc/moby/": "moby",
		"":                                   "",
		"/":                                  "",
		"moby":                               "moby",
	} {
		if got := Namespace(root); got != want {
			t.Errorf("Namespace(%q) = %q, want %q", root, got, want)
		}
	}
}
