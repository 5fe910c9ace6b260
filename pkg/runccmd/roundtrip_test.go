package runccmd

import "testing"

// roundTripCases are command lines as containerd (go-runc), Docker and the
// kubelet (through containerd CRI) write them.
var roundTripCases = []struct {
	name string
	argv []string
}{
	{"containerd create", argv(cdGlobal, "create --bundle", cdBundle, "--pid-file", cdBundle+"/init.pid c1")},
	{"containerd create tty", argv(cdGlobal, "create --bundle", cdBundle, "--pid-file", cdBundle+"/init.pid --console-socket /tmp/pty4170263021/pty.sock c1")},
	{"containerd create no-pivot no-new-keyring", argv(cdGlobal, "create --bundle", cdBundle, "--pid-file", cdBundle+"/init.pid --no-pivot --no-new-keyring c1")},
	{"containerd create debug systemd", argv("--root /run/containerd/runc/default --debug --log", cdBundle+"/log.json --log-format json --systemd-cgroup create --bundle", cdBundle, "--pid-file", cdBundle+"/init.pid c1")},
	{"containerd create rootless criu", argv(cdGlobal, "--criu /usr/local/sbin/criu --rootless=true create --bundle", cdBundle, "--pid-file", cdBundle+"/init.pid --preserve-fds 2 c1")},
	{"kubelet create", argv(k8sGlob, "create --bundle", k8sBndl, "--pid-file", k8sBndl+"/init.pid", k8sID)},
	{"docker create with runtimeArgs", argv("--systemd-cgroup", dkGlobal, "create --bundle", dkBundle, "--pid-file", dkBundle+"/init.pid", dockID)},
	{"docker create unknown runtimeArg", argv("--custom-opt value", dkGlobal, "create --bundle", dkBundle, "--pid-file", dkBundle+"/init.pid", dockID)},
	{"start", argv(cdGlobal, "start c1")},
	{"kubelet start", argv(k8sGlob, "start", k8sID)},
	{"exec", argv(cdGlobal, "exec --process /tmp/runc-process123 --detach --pid-file", cdBundle+"/exec1.pid c1")},
	{"exec tty", argv(cdGlobal, "exec --process /tmp/runc-process123 --console-socket /tmp/pty99/pty.sock --detach --pid-file", cdBundle+"/exec1.pid c1")},
	{"exec command", []string{"exec", "-t", "c1", "sh", "-c", "echo hi"}},
	{"exec short flags", []string{"exec", "-e", "A=1", "-u", "0:0", "-c", "CAP_SYS_ADMIN", "-t", "-d", "c1", "ls", "-l"}},
	{"kill 9", argv(cdGlobal, "kill c1 9")},
	{"kill all 15", argv(cdGlobal, "kill --all c1 15")},
	{"kill short all", argv("kill -a c1 KILL")},
	{"delete", argv(cdGlobal, "delete c1")},
	{"delete force", argv(cdGlobal, "delete --force c1")},
	{"ps json", argv(cdGlobal, "ps --format json c1")},
	{"ps args", argv("ps c1 -- -ef")},
	{"pause", argv(cdGlobal, "pause c1")},
	{"resume", argv(cdGlobal, "resume c1")},
	{"update stdin", argv(cdGlobal, "update --resources - c1")},
	{"update stdin eq", argv(cdGlobal, "update --resources=- c1")},
	{"checkpoint ctr task", argv(cdGlobal, "checkpoint --image-path /tmp/ctrd-checkpoint123 --work-path", cdBundle+"/work/criu-work --leave-running c1")},
	{"checkpoint exit", argv(cdGlobal, "checkpoint --image-path /tmp/ctrd-checkpoint123 --work-path", cdBundle+"/work/criu-work c1")},
	{"checkpoint all options", argv(cdGlobal, "checkpoint --image-path /tmp/ctrd-checkpoint123 --work-path", cdBundle+"/work/criu-work --tcp-established --ext-unix-sk --shell-job --file-locks --empty-ns network --empty-ns ipc --leave-running c1")},
	{"checkpoint status-fd", argv(cdGlobal, "checkpoint --image-path /tmp/ctrd-checkpoint123 --work-path", cdBundle+"/work/criu-work --file-locks --leave-running --status-fd 3 c1")},
	{"kubelet checkpoint", argv(k8sGlob, "checkpoint --image-path /var/lib/containerd/tmpmounts/ckpt-1 --work-path", k8sBndl+"/work/criu-work --leave-running", k8sID)},
	{"docker checkpoint", argv(dkGlobal, "checkpoint --image-path /var/lib/docker/containers/"+dockID+"/checkpoints/cp1 --work-path", dkBundle+"/work/criu-work", dockID)},
	{"containerd restore", argv(cdGlobal, "restore --image-path /tmp/ctrd-restore1 --work-path", cdBundle+"/work/criu-work --detach --pid-file", cdBundle+"/init.pid --no-pivot -no-subreaper --bundle", cdBundle, "c1")},
	{"containerd restore tty", argv(cdGlobal, "restore --image-path /tmp/ctrd-restore1 --work-path", cdBundle+"/work/criu-work --detach --pid-file", cdBundle+"/init.pid --console-socket /tmp/pty1/pty.sock -no-subreaper --bundle", cdBundle, "c1")},
	{"features bare", argv("features")},
	{"version", argv("--version")},
	{"version short", argv("-v")},
	{"help", argv("--help")},
	{"state", argv(cdGlobal, "state c1")},
	{"events stats", argv(cdGlobal, "events --stats --interval 5s c1")},
	{"list json", argv("--root /run/containerd/runc/default list -f json")},
	{"list quiet", argv("list -q")},
	{"empty", nil},
	{"run detach", argv("run -d -b /b --keep --no-subreaper c1")},
	{"unknown subcommand", argv(cdGlobal, "frobnicate --foo bar c1 x")},
	{"unknown flag with eq", argv("create --future=1 --bundle=/b c1")},
	{"unknown flag before id", argv("create --future c1")},
	{"unknown flag with value", argv("create --future v --bundle /b c1")},
	{"terminator before id", argv("exec -t -- c1 sh")},
	{"global terminator", argv("--root /r -- state c1")},
	{"dash as id", argv("state -")},
	{"empty tokens", []string{"", "", ""}},
	{"bool with value", argv("--debug=false create --no-pivot=true c1")},
	{"bad flag syntax kept", argv("create ---x -=y --=z c1")},
}

func TestRenderReproducesRealCommandLines(t *testing.T) {
	for _, tc := range roundTripCases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.argv)
			checkArgv(t, "Render", c.Render(), tc.argv)
			checkArgv(t, "Clone().Render", c.Clone().Render(), tc.argv)
			again := mustParse(t, c.Render())
			checkArgv(t, "Render after reparse", again.Render(), tc.argv)
		})
	}
}
