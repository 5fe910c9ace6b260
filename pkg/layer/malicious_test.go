package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ent is one entry of a hand-made archive.
type ent struct {
	typ  byte
	name string
	link string // symlink or hardlink target
	body string
	mode int64
}

func file(name, body string) ent      { return ent{typ: tar.TypeReg, name: name, body: body} }
func symlink(name, target string) ent { return ent{typ: tar.TypeSymlink, name: name, link: target} }
func hardlink(name, target string) ent {
	return ent{typ: tar.TypeLink, name: name, link: target}
}
func dir(name string, mode int64) ent { return ent{typ: tar.TypeDir, name: name, mode: mode} }

func makeTar(t testing.TB, ents ...ent) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: mode,
			Size: int64(len(e.body)), ModTime: time.Unix(1700000000, 0)}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if e.typ == tar.TypeChar {
			h.Devmajor, h.Devminor = 1, 3
		}
		check(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(e.body))
		check(t, err)
	}
	check(t, tw.Close())
	return b.Bytes()
}

// sandbox is a rootfs inside a parent folder next to a sentinel folder.
type sandbox struct {
	parent, rootfs, sentinel, ckpt string
}

func newSandbox(t testing.TB) *sandbox {
	requireRoot(t)
	s := &sandbox{parent: t.TempDir(), ckpt: t.TempDir()}
	s.rootfs = filepath.Join(s.parent, "rootfs")
	s.sentinel = filepath.Join(s.parent, "sentinel")
	writeTree(t, s.rootfs, map[string]string{
		"etc/hostname": "container\n",
		"etc/passwd":   "root:x:0:0::/root:/bin/sh\n",
		"usr/bin/sh":   "sh",
		"d/":           "",
	})
	writeTree(t, s.sentinel, map[string]string{"keep": "do not touch\n", "sub/": ""})
	return s
}

// outside describes everything Apply must never change: the parent
// folder without the rootfs, and host files.
func (s *sandbox) outside(t testing.TB) []string {
	// hardlink groups left out: replacing a rootfs name of a file shared
	// with the outside changes its link count, not the file
	var out []string
	for _, l := range listing(t, s.parent, "rootfs") {
		if i := strings.Index(l, " linkgroup="); i >= 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	for _, p := range []string{"/etc/hostname", "/etc/passwd"} {
		var st unix.Stat_t
		check(t, unix.Lstat(p, &st))
		b, err := os.ReadFile(p)
		check(t, err)
		out = append(out, p+" "+itoa(int(st.Ino))+" "+itoa(int(st.Nlink))+" "+itoa(int(st.Mtim.Nano()))+" "+string(b))
	}
	for _, p := range []string{"/archlayer_pwned", "/etc/archlayer_pwned", "/tmp/archlayer_pwned"} {
		if _, err := os.Lstat(p); err == nil {
			out = append(out, "exists: "+p)
		}
	}
	return out
}

func TestApplyNeverChangesAnythingOutsideTheRootfs(t *testing.T) {
	type pre func(s *sandbox)
	tests := []struct {
		name    string
		ents    func(s *sandbox) []ent
		deleted string
		setup   pre
		want    error  // nil: Apply may succeed; errAny: must fail; else errors.Is
		inside  string // when Apply succeeds, this must exist in the rootfs
	}{
		{name: "dotdot name", ents: func(*sandbox) []ent { return []ent{file("../archlayer_pwned", "x")} }, want: ErrUnsafeEntry},
		{name: "absolute name", ents: func(*sandbox) []ent { return []ent{file("/archlayer_pwned", "x")} }, want: ErrUnsafeEntry},
		{name: "dotdot inside name", ents: func(*sandbox) []ent { return []ent{file("a/../../archlayer_pwned", "x")} }, want: ErrUnsafeEntry},
		{name: "dotdot after a good entry", ents: func(*sandbox) []ent {
			return []ent{file("good", "g"), dir("gooddir/", 0o755), file("x/../../../sentinel/keep", "x")}
		}, want: ErrUnsafeEntry},
		{name: "dotdot device node", ents: func(*sandbox) []ent {
			return []ent{{typ: tar.TypeChar, name: "../archlayer_pwned", mode: 0o666}}
		}, want: ErrUnsafeEntry},
		{name: "symlink to / then a file through it", ents: func(*sandbox) []ent {
			return []ent{symlink("evil", "/"), file("evil/etc/archlayer_pwned", "x")}
		}, inside: "etc/archlayer_pwned"},
		{name: "symlink to ../../ then writes through it", ents: func(*sandbox) []ent {
			return []ent{symlink("up", "../../../../"), file("up/archlayer_pwned", "x"), dir("up/newdir/", 0o777), file("up/newdir/f", "f")}
		}, inside: "newdir/f"},
		{name: "symlink chain out of the root", ents: func(*sandbox) []ent {
			return []ent{symlink("a", "b"), symlink("b", "../../../.."), file("a/archlayer_pwned", "x")}
		}, inside: "archlayer_pwned"},
		{name: "symlink to the host path of the sentinel then a file through it", ents: func(s *sandbox) []ent {
			return []ent{symlink("s", s.sentinel), file("s/archlayer_pwned", "x")}
		}, want: errAny},
		{name: "hardlink to a host file", ents: func(*sandbox) []ent { return []ent{hardlink("h", "/etc/hostname")} }, want: ErrUnsafeEntry},
		{name: "hardlink to ../outside", ents: func(*sandbox) []ent { return []ent{hardlink("h", "../sentinel/keep")} }, want: ErrUnsafeEntry},
		{name: "hardlink to a symlink to a host file", ents: func(*sandbox) []ent {
			return []ent{symlink("s", "/etc/hostname"), hardlink("h", "s")}
		}, want: ErrUnsafeEntry},
		{name: "hardlink through a symlink stays in the root", ents: func(*sandbox) []ent {
			return []ent{symlink("s", "/etc"), hardlink("h", "s/hostname")}
		}, inside: "h"},
		{name: "hardlink to a directory", ents: func(*sandbox) []ent { return []ent{hardlink("h", "etc")} }, want: ErrUnsafeEntry},
		{name: "file over a symlink to a host file", setup: func(s *sandbox) {
			os.Symlink(filepath.Join(s.sentinel, "keep"), filepath.Join(s.rootfs, "link"))
		}, ents: func(*sandbox) []ent { return []ent{file("link", "pwned")} }, inside: "link"},
		{name: "directory over a symlink to a host folder", setup: func(s *sandbox) {
			os.Symlink(s.sentinel, filepath.Join(s.rootfs, "ldir"))
		}, ents: func(*sandbox) []ent { return []ent{dir("ldir/", 0o777), file("ldir/archlayer_pwned", "x")} }, inside: "ldir/archlayer_pwned"},
		{name: "file over a hardlink to a file outside", setup: func(s *sandbox) {
			os.Remove(filepath.Join(s.rootfs, "etc/passwd"))
			os.Link(filepath.Join(s.sentinel, "keep"), filepath.Join(s.rootfs, "etc/passwd"))
		}, ents: func(*sandbox) []ent { return []ent{file("etc/passwd", "pwned")} }, inside: "etc/passwd"},
		{name: "deleted path through a symlink to the root", ents: func(*sandbox) []ent {
			return []ent{symlink("s", "/"), file("new", "n")}
		}, deleted: `["/s/etc/hostname"]`, want: ErrUnsafeEntry},
		{name: "deleted dotdot", ents: func(*sandbox) []ent { return nil }, deleted: `["../../sentinel"]`, want: ErrUnsafeEntry},
		{name: "deleted rooted dotdot", ents: func(*sandbox) []ent { return nil }, deleted: `["/../etc"]`, want: ErrUnsafeEntry},
		{name: "deleted the root", ents: func(*sandbox) []ent { return nil }, deleted: `["/"]`, want: ErrUnsafeEntry},
		{name: "deleted through a symlink to a host folder", setup: func(s *sandbox) {
			os.Symlink(s.sentinel, filepath.Join(s.rootfs, "ldir"))
		}, ents: func(*sandbox) []ent { return []ent{file("x", "x")} }, deleted: `["/ldir/keep"]`, want: ErrUnsafeEntry},
		{name: "deleted symlink itself is fine", setup: func(s *sandbox) {
			os.Symlink(s.sentinel, filepath.Join(s.rootfs, "ldir"))
		}, ents: func(*sandbox) []ent { return nil }, deleted: `["/ldir", "/missing/path"]`},
		{name: "not json deleted.files", ents: func(*sandbox) []ent { return nil }, deleted: `{"a":1}`, want: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			check(t, os.WriteFile(filepath.Join(s.ckpt, RootfsDiffTar), makeTar(t, tc.ents(s)...), 0o600))
			if tc.deleted != "" {
				check(t, os.WriteFile(filepath.Join(s.ckpt, DeletedFiles), []byte(tc.deleted), 0o600))
			}
			outside := s.outside(t)
			before := listing(t, s.rootfs)
			j, err := Apply(context.Background(), s.rootfs, s.ckpt, ApplyOptions{})
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Apply: %v", err)
			case tc.want == errAny && err == nil, tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("Apply = %v, want %v", err, tc.want)
			}
			if err == nil {
				check(t, j.Commit())
				if tc.inside != "" {
					if _, err := os.Lstat(filepath.Join(s.rootfs, tc.inside)); err != nil {
						t.Errorf("%s not written inside the rootfs: %v", tc.inside, err)
					}
				}
			} else {
				sameListing(t, "rootfs after a rejected archive", before, listing(t, s.rootfs))
			}
			sameListing(t, "outside the rootfs", outside, s.outside(t))
		})
	}
}

var errAny = errors.New("any error")
