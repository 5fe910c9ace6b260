package layer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzApply feeds arbitrary bytes to Apply as rootfs-diff.tar. Properties:
// it never panics, never changes anything outside the rootfs (the rootfs
// sits in a parent folder next to a sentinel), and a failed Apply, or a
// successful one rolled back, leaves the rootfs as it was.
func FuzzApply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		check(t, os.Symlink("../../..", filepath.Join(s.rootfs, "up")))
		check(t, os.Symlink(s.sentinel, filepath.Join(s.rootfs, "host")))
		check(t, os.WriteFile(filepath.Join(s.ckpt, RootfsDiffTar), data, 0o600))
		outside := s.outside(t)
		before := listing(t, s.rootfs)
		j, err := Apply(context.Background(), s.rootfs, s.ckpt, ApplyOptions{})
		if err == nil {
			if err := j.Rollback(); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
		}
		sameListing(t, "rootfs after Apply and Rollback", before, listing(t, s.rootfs))
		sameListing(t, "outside the rootfs", outside, s.outside(t))
		ents, err := os.ReadDir(s.parent)
		check(t, err)
		if len(ents) != 2 {
			t.Fatalf("parent folder has %d entries, want rootfs and sentinel", len(ents))
		}
	})
}

// TestGenerateFuzzSeeds writes the seed corpus of FuzzApply (run with
// ARCH_GEN_FUZZ_SEEDS=1 to regenerate testdata/fuzz/FuzzApply).
func TestGenerateFuzzSeeds(t *testing.T) {
	if os.Getenv("ARCH_GEN_FUZZ_SEEDS") == "" {
		t.Skip("set ARCH_GEN_FUZZ_SEEDS=1 to regenerate the seed corpus")
	}
	requireRoot(t)
	corpus := filepath.Join("testdata", "fuzz", "FuzzApply")
	check(t, os.MkdirAll(corpus, 0o755))
	seed := func(name string, data []byte) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		check(t, os.WriteFile(filepath.Join(corpus, name), []byte(body), 0o644))
	}
	// what Capture writes, from a plain folder standing for an upperdir
	up := t.TempDir()
	writeTree(t, up, map[string]string{"etc/conf": "c", "app/tree/link": "-> ../f", "app/f": "f", "var/": ""})
	check(t, os.Link(filepath.Join(up, "app/f"), filepath.Join(up, "app/hard")))
	check(t, unix.Setxattr(filepath.Join(up, "app/f"), "user.x", []byte("v"), 0))
	check(t, unix.Mkfifo(filepath.Join(up, "app/fifo"), 0o600))
	check(t, unix.Mknod(filepath.Join(up, "app/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	check(t, unix.Mknod(filepath.Join(up, "etc/gone"), unix.S_IFCHR, 0))
	sf, err := os.Create(filepath.Join(up, "app/sparse"))
	check(t, err)
	check(t, sf.Truncate(1<<20))
	_, err = sf.WriteAt([]byte("data"), 512<<10)
	check(t, err)
	sf.Close()
	out := t.TempDir()
	_, err = Capture(context.Background(), &Overlay{Upper: up}, out, CaptureOptions{})
	check(t, err)
	b, err := os.ReadFile(filepath.Join(out, RootfsDiffTar))
	check(t, err)
	seed("capture", b)

	// GNU tar's sparse forms
	for i, args := range [][]string{{"--format=gnu", "-S"}, {"--format=posix", "-S"}, {"--format=posix", "--sparse-version=0.1", "-S"}} {
		p := filepath.Join(t.TempDir(), "x.tar")
		cmd := exec.Command("tar", append(append([]string{"-cf", p}, args...), "-C", up, "app")...)
		if outp, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, outp)
		}
		b, err := os.ReadFile(p)
		check(t, err)
		seed(fmt.Sprintf("gnutar-%d", i), b)
	}

	// hand-made hostile ones
	hostile := [][]ent{
		{file("../x", "x")},
		{file("/abs", "x")},
		{file("a/../../x", "x")},
		{symlink("evil", "/"), file("evil/etc/x", "x")},
		{symlink("up2", "../../"), file("up2/x", "x")},
		{hardlink("h", "/etc/hostname")},
		{hardlink("h", "../outside")},
		{symlink("s", "/etc/hostname"), hardlink("h", "s")},
		{dir("host/", 0o777), file("host/x", "x")},
		{file("up/x", "x"), dir("d/", 0o700), file("d", "now a file")},
		{file("etc/hostname", "a"), file("etc/hostname", "b"), hardlink("etc/h2", "etc/hostname")},
	}
	for i, ents := range hostile {
		seed(fmt.Sprintf("hostile-%02d", i), makeTar(t, ents...))
	}
}
