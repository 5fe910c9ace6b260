package saferoot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bothResolvers runs f with openat2 and with the component walk that
// kernels without openat2 get.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", func(t *testing.T) {
		if noOpenat2.Load() {
			t.Skip("this kernel has no openat2")
		}
		f(t)
	})
	t.Run("walk", func(t *testing.T) {
		prev := noOpenat2.Swap(true)
		t.Cleanup(func() { noOpenat2.Store(prev) })
		f(t)
	})
}

// hostile is a root with a sentinel folder outside it that must stay empty.
type hostile struct {
	root, outside string
}

func newHostile(t *testing.T) hostile {
	base := t.TempDir()
	h := hostile{root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	must(t, os.Mkdir(h.root, 0o755))
	must(t, os.Mkdir(h.outside, 0o755))
	return h
}

func (h hostile) assertOutsideUntouched(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(h.outside)
	must(t, err)
	if len(ents) != 0 {
		t.Fatalf("something was created through a symlink outside the root: %v", ents)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMkdirAllRefusesASymlinkAtEveryLevel(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		for _, level := range []string{"a", "a/b", "a/b/c"} {
			t.Run(level, func(t *testing.T) {
				h := newHostile(t)
				if dir := filepath.Dir(level); dir != "." {
					must(t, os.MkdirAll(filepath.Join(h.root, dir), 0o755))
				}
				must(t, os.Symlink(h.outside, filepath.Join(h.root, level)))
				d, err := Location{Root: h.root, Rel: "a/b/c"}.MkdirAll(0o700)
				if err == nil {
					d.Close()
					t.Fatal("MkdirAll went through a symlink")
				}
				if !errors.Is(err, ErrUnsafe) {
					t.Fatalf("err = %v, want ErrUnsafe", err)
				}
				h.assertOutsideUntouched(t)
				if err := (Location{Root: h.root, Rel: "a/b/c"}).Check(); !errors.Is(err, ErrUnsafe) {
					t.Fatalf("Check = %v, want ErrUnsafe", err)
				}
			})
		}
	})
}

func TestMkdirAllRefusesAFileWhereAFolderGoes(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		h := newHostile(t)
		must(t, os.WriteFile(filepath.Join(h.root, "a"), nil, 0o644))
		_, err := Location{Root: h.root, Rel: "a/b"}.MkdirAll(0o700)
		if !errors.Is(err, ErrUnsafe) {
			t.Fatalf("err = %v, want ErrUnsafe", err)
		}
	})
}

func TestMkdirAllCreatesAndReopens(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		h := newHostile(t)
		loc := Location{Root: h.root, Rel: "a/b"}
		if err := loc.Check(); err != nil {
			t.Fatalf("Check of a missing folder: %v", err)
		}
		d, err := loc.MkdirAll(0o711)
		must(t, err)
		d.Close()
		st, err := os.Lstat(filepath.Join(h.root, "a/b"))
		must(t, err)
		if !st.IsDir() || st.Mode().Perm() != 0o711 {
			t.Fatalf("created %v", st.Mode())
		}
		d, err = loc.Open()
		must(t, err)
		d.Close()
		must(t, loc.Check())
	})
}

func TestMissingAllowedRootIsNeverCreated(t *testing.T) {
	root := filepath.Join(t.TempDir(), "efs")
	if _, err := (Location{Root: root, Rel: "x"}).MkdirAll(0o700); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
	if err := (Location{Root: root, Rel: "x"}).Check(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Check = %v, want not-exist", err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the missing root was created: %v", err)
	}
	d, err := Trusted(root).MkdirAll(0o700)
	must(t, err)
	d.Close()
}

func TestOpenFileNeverFollows(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		h := newHostile(t)
		must(t, os.Mkdir(filepath.Join(h.root, "k"), 0o700))
		must(t, os.Symlink(filepath.Join(h.outside, "f"), filepath.Join(h.root, "k", "manifest.json")))
		must(t, os.Symlink(h.outside, filepath.Join(h.root, "linkdir")))
		root, err := OpenTrusted(h.root)
		must(t, err)
		defer root.Close()
		for _, rel := range []string{"k/manifest.json", "linkdir/new", "linkdir"} {
			f, err := root.OpenFile(rel, os.O_RDWR|os.O_CREATE, 0o600)
			if err == nil {
				f.Close()
				t.Fatalf("%s: opened through a symlink", rel)
			}
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("%s: err = %v, want ErrUnsafe", rel, err)
			}
		}
		for _, rel := range []string{"../x", "/etc/passwd", "k//x", ""} {
			if _, err := root.OpenFile(rel, os.O_RDONLY, 0); !errors.Is(err, ErrUnsafe) {
				t.Fatalf("%q: err = %v, want ErrUnsafe", rel, err)
			}
		}
		h.assertOutsideUntouched(t)
		k, err := root.OpenDir("k")
		must(t, err)
		defer k.Close()
		if err := k.WriteFile("manifest.json", []byte("x"), 0o600); err != nil {
			t.Fatalf("WriteAtomic replacing a symlink entry (the link itself, not its target): %v", err)
		}
		h.assertOutsideUntouched(t)
	})
}

func TestWriteAtomicRenameRemoveReadDir(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		h := newHostile(t)
		d, err := Trusted(h.root).MkdirAll(0o700)
		must(t, err)
		defer d.Close()
		must(t, d.WriteFile("m.json", []byte("one"), 0o640))
		must(t, d.WriteFile("m.json", []byte("two"), 0o600))
		b, err := os.ReadFile(filepath.Join(h.root, "m.json"))
		must(t, err)
		st, _ := os.Stat(filepath.Join(h.root, "m.json"))
		if string(b) != "two" || st.Mode().Perm() != 0o600 {
			t.Fatalf("content %q mode %v", b, st.Mode())
		}
		boom := errors.New("boom")
		if err := d.WriteAtomic("m.json", 0o600, func(f *os.File) error { f.Write([]byte("half")); return boom }); !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		must(t, d.Rename("m.json", "n.json"))
		created, err := d.Mkdir("sub", 0o700)
		must(t, err)
		if !created {
			t.Fatal("Mkdir: not created")
		}
		if created, err := d.Mkdir("sub", 0o700); err != nil || created {
			t.Fatalf("second Mkdir: %v, %v", created, err)
		}
		ents, err := d.ReadDir()
		must(t, err)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != "n.json,sub" {
			t.Fatalf("entries %v (a failed write must leave no temp file)", names)
		}
		must(t, d.Remove("n.json"))
		must(t, d.Remove("n.json")) // already gone
		must(t, d.RemoveDir("sub"))
		if ents, _ := d.ReadDir(); len(ents) != 0 {
			t.Fatalf("left %v", ents)
		}
	})
}

func TestSameAs(t *testing.T) {
	h := newHostile(t)
	root, err := OpenTrusted(h.root)
	must(t, err)
	defer root.Close()
	_, err = root.Mkdir("k", 0o700)
	must(t, err)
	k, err := root.OpenDir("k")
	must(t, err)
	defer k.Close()
	if !root.SameAs("k", k) {
		t.Fatal("SameAs: the folder is not itself")
	}
	must(t, os.Rename(filepath.Join(h.root, "k"), filepath.Join(h.root, "old")))
	must(t, os.Mkdir(filepath.Join(h.root, "k"), 0o700))
	if root.SameAs("k", k) {
		t.Fatal("SameAs: a replaced folder is the same")
	}
}

// TestRacingSymlinkSwapNeverRedirects swaps a folder of the path for a
// symlink to an outside folder and back, as fast as it can, while ARCH's
// calls run: whatever they return, nothing is ever created outside.
func TestRacingSymlinkSwapNeverRedirects(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		h := newHostile(t)
		a := filepath.Join(h.root, "a")
		must(t, os.Mkdir(a, 0o755))
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			real, link := filepath.Join(h.root, "a.real"), filepath.Join(h.root, "a.link")
			for !stop.Load() {
				os.Rename(a, real)
				os.Symlink(h.outside, link)
				os.Rename(link, a)
				os.Remove(a)
				os.Rename(real, a)
			}
		}()
		deadline := time.Now().Add(300 * time.Millisecond)
		ok := 0
		for time.Now().Before(deadline) {
			d, err := Location{Root: h.root, Rel: "a/b"}.MkdirAll(0o700)
			if err == nil {
				f, err := d.OpenFile("f", os.O_WRONLY|os.O_CREATE, 0o600)
				if err == nil {
					f.Close()
					ok++
				}
				d.Close()
			}
		}
		stop.Store(true)
		wg.Wait()
		h.assertOutsideUntouched(t)
		t.Logf("%d creates went through while the path was swapped", ok)
	})
}

func TestLocate(t *testing.T) {
	a := Allowed{Roots: []string{"/mnt/efs", "/mnt/efs/team", "/var/lib/arch"}, Store: "/srv/arch/checkpoints",
		Reserved: []string{"/var/lib/arch/staging", "/run/arch"}}
	for _, tc := range []struct {
		p        string
		root     string
		rel      string
		refusal  string // substring of the error; "" = allowed
		createRt bool
	}{
		{p: "/mnt/efs", root: "/mnt/efs"},
		{p: "/mnt/efs/", root: "/mnt/efs"},
		{p: "/mnt/efs/a/b", root: "/mnt/efs", rel: "a/b"},
		{p: "/mnt/efs/team/x", root: "/mnt/efs/team", rel: "x"},
		{p: "/mnt/efs//a/./b", root: "/mnt/efs", rel: "a/b"},
		{p: "/srv/arch/checkpoints", root: "/srv/arch/checkpoints", createRt: true},
		{p: "/srv/arch/checkpoints/x", refusal: "lies inside ARCH's own folder /srv/arch/checkpoints"},
		{p: "/var/lib/arch", refusal: "holds ARCH's own folder /var/lib/arch/staging"},
		{p: "/var/lib/arch/staging/x", refusal: "lies inside ARCH's own folder"},
		{p: "/var/lib/arch/other", root: "/var/lib/arch", rel: "other"},
		{p: "/mnt/efs/WORK/x", refusal: "folder named WORK"},
		{p: "/mnt/efs/Work./x", refusal: "folder named Work."},
		{p: "/mnt/efs/wor\u212a/x", refusal: "folder named"},
		{p: "/mnt/efsx", refusal: "not one of the node's allowed_roots"},
		{p: "/etc/anything", refusal: "not one of the node's allowed_roots"},
		{p: "/mnt", refusal: "not one of"},
		{p: "/mnt/efs/../etc", refusal: `has a .. component`},
		{p: "/mnt/efs/a/..", refusal: `has a .. component`},
		{p: "mnt/efs", refusal: "absolute"},
		{p: "/mnt/efs/work", refusal: `folder named work below`},
		{p: "/mnt/efs/a/work/evil", refusal: `folder named work below`},
		{p: "/mnt/efs/team/work/x", refusal: `folder named work below`},
		{p: "/mnt/efs/workshop", root: "/mnt/efs", rel: "workshop"},
	} {
		t.Run(tc.p, func(t *testing.T) {
			loc, err := a.LocateStore("ARCH_CHECKPOINT_HOST_PATH", tc.p)
			if tc.refusal != "" {
				if err == nil || !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), tc.refusal) {
					t.Fatalf("Locate = %+v, %v; want a refusal with %q", loc, err, tc.refusal)
				}
				return
			}
			must(t, err)
			if loc.Root != tc.root || loc.Rel != tc.rel || loc.CreateRoot != tc.createRt {
				t.Fatalf("Locate = %+v, want root %s rel %q create %t", loc, tc.root, tc.rel, tc.createRt)
			}
		})
	}
	if _, err := (Allowed{}).LocateStore("ARCH_CHECKPOINT_HOST_PATH", "/mnt/efs"); err == nil || !strings.Contains(err.Error(), "allowed_roots is not set") {
		t.Fatalf("no roots: %v", err)
	}
	// The node's store is a store, never a shared root.
	if _, err := a.LocateShared("ARCH_SHAREDFS_HOST_PATH", a.Store); err == nil {
		t.Fatal("the node's store was accepted as a shared root")
	}
}

func TestUnsafeErrors(t *testing.T) {
	for _, e := range []error{unix.ELOOP, unix.EXDEV, unix.ENOTDIR} {
		if !errors.Is(unsafeErr("x", e), ErrUnsafe) {
			t.Fatalf("%v is not ErrUnsafe", e)
		}
	}
	if !errors.Is(unsafeErr("x", unix.ENOENT), fs.ErrNotExist) {
		t.Fatal("ENOENT is not fs.ErrNotExist")
	}
}

// TestFenceStopsEveryPathThroughTenantsWorkDirs: a folder of tenants' work
// dirs carries the fence (MkdirAll of a Fenced location puts it); no other
// location may resolve through it or end at it, whatever name reaches it.
func TestFenceStopsEveryPathThroughTenantsWorkDirs(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root := t.TempDir()
		work := Location{Root: root, Rel: "team/work", Fenced: true}
		d, err := work.MkdirAll(0o711)
		must(t, err)
		_, err = d.Mkdir("tenant", 0o755)
		must(t, err)
		d.Close()
		if _, err := os.Lstat(filepath.Join(root, "team/work", FenceName)); err != nil {
			t.Fatalf("no fence: %v", err)
		}
		again, err := work.Open()
		must(t, err)
		again.Close()
		must(t, work.Check())
		// The same folder under another name (a case-insensitive file
		// system's WORK is modelled by a second link to it).
		must(t, os.Rename(filepath.Join(root, "team/work"), filepath.Join(root, "team/WORK")))
		for _, loc := range []Location{
			{Root: root, Rel: "team/WORK"},                      // as a store
			{Root: root, Rel: "team/WORK/tenant"},               // a shared root in a work dir
			{Root: root, Rel: "team/WORK/tenant/x/checkpoint"},  // below it
			{Root: root, Rel: "team/WORK/missing/x/checkpoint"}, // not even existing
		} {
			if d, err := loc.MkdirAll(0o700); err == nil {
				d.Close()
				t.Fatalf("%s: created through the fence", loc.Rel)
			} else if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("%s: err = %v, want ErrUnsafe", loc.Rel, err)
			}
			if err := loc.Check(); !errors.Is(err, ErrUnsafe) {
				t.Fatalf("%s: Check = %v, want ErrUnsafe", loc.Rel, err)
			}
		}
		if ents, _ := os.ReadDir(filepath.Join(root, "team/WORK/tenant")); len(ents) != 0 {
			t.Fatalf("something was created in the tenant's work dir: %v", ents)
		}
	})
}

// WriteInterim replaces a file as WriteAtomic does (a reader sees old or
// new, no temp file is left), and never writes through a planted symlink.
func TestWriteInterimReplacesAtomically(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		h := newHostile(t)
		d, err := Trusted(h.root).MkdirAll(0o700)
		must(t, err)
		defer d.Close()
		must(t, d.WriteInterim("r.json", []byte("one"), 0o600))
		must(t, d.WriteInterim("r.json", []byte("two"), 0o600))
		b, err := os.ReadFile(filepath.Join(h.root, "r.json"))
		must(t, err)
		if string(b) != "two" {
			t.Fatalf("content %q", b)
		}
		must(t, os.Symlink(h.outside, filepath.Join(h.root, "s.json")))
		must(t, d.WriteInterim("s.json", []byte("x"), 0o600))
		h.assertOutsideUntouched(t)
		ents, err := d.ReadDir()
		must(t, err)
		if len(ents) != 2 {
			t.Fatalf("entries %v: a temp file was left", ents)
		}
	})
}
