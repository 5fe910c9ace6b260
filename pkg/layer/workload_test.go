package layer

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// imageLayer is the read-only layer both containers run from.
func imageLayer(t testing.TB) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"etc/conf":                    "setting=1\n",
		"etc/remove-me":               "bye\n",
		"etc/hostname":                "image\n",
		"var/log/app.log":             "line 1\n",
		"var/lib/state.json":          `{"n":1}`,
		"opt/olddir/a":                "a",
		"opt/olddir/b/c":              "c",
		"opt/keep":                    "keep",
		"data/x":                      "x",
		"data/y":                      "y",
		"data/sub/z":                  "z",
		"data/sub/kept-name":          "lower version",
		"usr/bin/tool":                "#!/bin/sh\n",
		"usr/lib/libfoo.so":           "elf",
		"lib":                         "-> usr/lib",
		"bin":                         "-> usr/bin",
		"tmp/":                        "",
		"run/":                        "",
		"app/":                        "",
		"proc/":                       "",
		"dev/":                        "",
		"big/lower-file":              string(make([]byte, 300<<10)),
		"emptydir/":                   "",
		"replace-dir-with-file/inner": "i",
	})
	return dir
}

// capCapNetBindService is a security.capability value (v2) granting
// CAP_NET_BIND_SERVICE in the permitted set.
var capNetBindService = []byte{0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// runWorkload changes the merged view m the way a running container does.
func runWorkload(t testing.TB, m string) {
	p := func(rel string) string { return filepath.Join(m, rel) }
	// append to a log, rewrite a state file, a counter in /tmp
	f, err := os.OpenFile(p("var/log/app.log"), os.O_APPEND|os.O_WRONLY, 0)
	check(t, err)
	_, err = f.WriteString("line 2\nline 3\n")
	check(t, err)
	check(t, f.Close())
	check(t, os.WriteFile(p("var/lib/state.json"), []byte(`{"n":2,"more":true}`), 0o600))
	check(t, os.WriteFile(p("tmp/count"), []byte("42"), 0o644))
	// a tree with a symlink and a hardlink
	check(t, os.MkdirAll(p("app/tree/deep/er"), 0o750))
	check(t, os.WriteFile(p("app/tree/deep/file"), []byte("hello"), 0o640))
	check(t, os.WriteFile(p("app/tree/deep/er/small"), make([]byte, 70<<10), 0o644))
	check(t, os.Symlink("deep/file", p("app/tree/link")))
	check(t, os.Symlink("/nonexistent/abs", p("app/tree/dangling")))
	check(t, os.Link(p("app/tree/deep/file"), p("app/tree/hard")))
	check(t, os.Link(p("app/tree/deep/file"), p("app/hard2")))
	// chmod and chown a lower file, setuid included
	check(t, os.Lchown(p("etc/conf"), 1000, 1001))
	check(t, unix.Chmod(p("etc/conf"), 0o4755))
	check(t, os.Lchown(p("usr/bin/tool"), 0, 50))
	check(t, os.Lchown(p("app/tree/link"), 7, 8))
	// sticky dir, odd owner
	check(t, os.Mkdir(p("app/sticky"), 0o755))
	check(t, os.Chown(p("app/sticky"), 33, 33))
	check(t, unix.Chmod(p("app/sticky"), 0o1777))
	// extended attributes
	check(t, unix.Setxattr(p("app/tree/deep/file"), "user.test", []byte("value"), 0))
	check(t, unix.Setxattr(p("app/tree"), "user.dir", []byte("d"), 0))
	check(t, unix.Setxattr(p("usr/bin/tool"), "security.capability", capNetBindService, 0))
	check(t, unix.Setxattr(p("tmp/count"), "trusted.note", []byte{0, 1, 2}, 0))
	// fifo and device node
	check(t, unix.Mkfifo(p("app/fifo"), 0o620))
	check(t, unix.Mknod(p("app/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	// a 1 GiB sparse file with a few data blocks and a trailing hole
	sf, err := os.Create(p("app/sparse"))
	check(t, err)
	check(t, sf.Truncate(1<<30))
	for _, off := range []int64{0, 300 << 20, 700<<20 + 12345} {
		_, err := sf.WriteAt([]byte("data block here"), off)
		check(t, err)
	}
	check(t, sf.Close())
	// delete a lower file and a lower directory
	check(t, os.Remove(p("etc/remove-me")))
	check(t, os.RemoveAll(p("opt/olddir")))
	// opaque directory: remove a lower directory, make it again, new content
	check(t, os.RemoveAll(p("data")))
	check(t, os.MkdirAll(p("data/sub"), 0o700))
	check(t, os.WriteFile(p("data/new"), []byte("new"), 0o644))
	check(t, os.WriteFile(p("data/sub/kept-name"), []byte("upper version"), 0o644))
	// replace a lower directory by a file, a lower symlink by a directory
	check(t, os.RemoveAll(p("replace-dir-with-file")))
	check(t, os.WriteFile(p("replace-dir-with-file"), []byte("now a file"), 0o644))
	check(t, os.Remove(p("lib")))
	check(t, os.Mkdir(p("lib"), 0o755))
	check(t, os.WriteFile(p("lib/own.so"), []byte("so"), 0o755))
	// a file in a lower dir that only gets new mtime
	check(t, os.Chtimes(p("opt/keep"), fixedTime, fixedTime.Add(3600e9)))
	// excluded: a bind-mount destination and kernel filesystems
	check(t, os.MkdirAll(p("run/secrets"), 0o700))
	check(t, os.WriteFile(p("run/secrets/token"), []byte("s3cr3t"), 0o600))
	check(t, os.WriteFile(p("dev/shm-file"), []byte("x"), 0o600))
	check(t, os.WriteFile(p("proc/fake"), []byte("x"), 0o600))
}
