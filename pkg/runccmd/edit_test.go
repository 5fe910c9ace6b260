package runccmd

import (
	"slices"
	"testing"
)

func TestEditsRenderExpectedArgv(t *testing.T) {
	create := argv(cdGlobal, "create --bundle /b --pid-file /b/init.pid --console-socket /tmp/s.sock --no-new-keyring --preserve-fds 2 --pidfd-socket /tmp/pfd.sock c1")
	tests := []struct {
		name string
		in   []string
		edit func(c *Command)
		want []string
	}{
		{
			name: "create becomes restore",
			in:   create,
			edit: func(c *Command) {
				c.Name = "restore"
				c.Remove("no-new-keyring", "preserve-fds", "pidfd-socket")
				c.SetBool("detach")
				c.Set("image-path", "/x")
			},
			want: argv(cdGlobal, "restore --bundle /b --pid-file /b/init.pid --console-socket /tmp/s.sock --detach --image-path /x c1"),
		},
		{
			name: "set replaces in place and keeps the other tokens",
			in:   argv("checkpoint --image-path=/old --work-path /w --leave-running c1"),
			edit: func(c *Command) { c.Set("image-path", "/new") },
			want: argv("checkpoint --image-path /new --work-path /w --leave-running c1"),
		},
		{
			name: "set collapses repeated flags at the first place",
			in:   argv("checkpoint --empty-ns network --leave-running --empty-ns ipc c1"),
			edit: func(c *Command) { c.Set("empty-ns", "pid") },
			want: argv("checkpoint --empty-ns pid --leave-running c1"),
		},
		{
			name: "set through an alias",
			in:   argv("create -b /old c1"),
			edit: func(c *Command) { c.Set("b", "/new") },
			want: argv("create --bundle /new c1"),
		},
		{
			name: "set appends before the terminator",
			in:   argv("exec -t -- c1 sh"),
			edit: func(c *Command) { c.Set("cwd", "/tmp") },
			want: argv("exec -t --cwd /tmp -- c1 sh"),
		},
		{
			name: "set of an unknown flag uses =",
			in:   argv("create c1"),
			edit: func(c *Command) { c.Set("future", "v") },
			want: argv("create --future=v c1"),
		},
		{
			name: "setbool leaves a present flag alone",
			in:   argv("checkpoint -leave-running c1"),
			edit: func(c *Command) { c.SetBool("leave-running") },
			want: argv("checkpoint -leave-running c1"),
		},
		{
			name: "setbool replaces an off flag",
			in:   argv("checkpoint --leave-running=false --file-locks c1"),
			edit: func(c *Command) { c.SetBool("leave-running") },
			want: argv("checkpoint --leave-running --file-locks c1"),
		},
		{
			name: "remove then set moves the flag to the end",
			in:   argv("checkpoint --image-path /i --work-path /w --leave-running c1"),
			edit: func(c *Command) {
				c.Remove("image-path", "work-path", "leave-running")
				c.Set("image-path", "/s/checkpoint")
				c.Set("work-path", "/s/work")
				c.SetBool("leave-running")
			},
			want: argv("checkpoint --image-path /s/checkpoint --work-path /s/work --leave-running c1"),
		},
		{
			name: "remove of an absent flag changes nothing",
			in:   argv(cdGlobal, "delete --force c1"),
			edit: func(c *Command) { c.Remove("bundle") },
			want: argv(cdGlobal, "delete --force c1"),
		},
		{
			name: "remove by alias",
			in:   argv("delete -f c1"),
			edit: func(c *Command) { c.Remove("f") },
			want: argv("delete c1"),
		},
		{
			name: "editing a field directly re-renders that flag only",
			in:   argv("create -b=/old --pid-file /p c1"),
			edit: func(c *Command) { c.Flags[0].Value = "/new" },
			want: argv("create --bundle /new --pid-file /p c1"),
		},
		{
			name: "global set and remove",
			in:   argv("--root /r --debug --log /l state c1"),
			edit: func(c *Command) {
				c.GlobalRemove("debug")
				c.GlobalSet("log", "/other")
				c.GlobalSetBool("systemd-cgroup")
			},
			want: argv("--root /r --log /other --systemd-cgroup state c1"),
		},
		{
			name: "new id that looks like a flag gets a terminator",
			in:   argv("state c1"),
			edit: func(c *Command) { c.ID = "-x" },
			want: argv("state -- -x"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.in)
			orig := c.Clone()
			tc.edit(c)
			got := c.Render()
			checkArgv(t, "edited", got, tc.want)
			checkArgv(t, "original after editing", orig.Render(), tc.in)
			again := mustParse(t, got)
			checkArgv(t, "edited after reparse", again.Render(), tc.want)
		})
	}
}

func TestCloneIsIndependent(t *testing.T) {
	in := argv(cdGlobal, "exec --process /p --detach c1 sh -c x")
	c := mustParse(t, in)
	d := c.Clone()
	d.Global[0].Value = "/elsewhere"
	d.Flags[0].raw[0] = "--changed"
	d.Args[0] = "bash"
	d.Set("process", "/q")
	checkArgv(t, "original", c.Render(), in)
}

func TestParseDoesNotAliasArgv(t *testing.T) {
	in := argv("kill c1 9")
	c := mustParse(t, in)
	c.Args[0] = "15"
	if !slices.Equal(in, argv("kill c1 9")) {
		t.Fatalf("argv changed: %q", in)
	}
}
