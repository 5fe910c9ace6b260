package ckpt

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// imageOf wraps data and m into an Image without any of Current's checks,
// as a hostile or buggy manifest would reach Unpack.
func imageOf(t *testing.T, data []byte, m *Manifest) *Image {
	t.Helper()
	p := filepath.Join(t.TempDir(), m.Archive.Name)
	must(t, os.WriteFile(p, data, 0o600))
	f, err := os.Open(p)
	must(t, err)
	t.Cleanup(func() { f.Close() })
	return &Image{Key: mustKey(t, m.Key), Manifest: m, path: p, f: f}
}

func TestUnpackNeverWritesOutsideDst(t *testing.T) {
	symlink := func(name, target string) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target}}
	}
	hardlink := func(name, target string) entry {
		return entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
	}
	for _, tc := range []struct {
		name    string
		entries func(outside string) []entry
		// claim, when set, edits the manifest built from the archive.
		claim func(m *Manifest)
	}{
		{"dot-dot member listed in the manifest", func(string) []entry {
			return append(validEntries(), fileEntry("../x", "evil"))
		}, nil},
		{"dot-dot inside a path", func(string) []entry {
			return append(validEntries(), fileEntry("checkpoint/../../x", "evil"))
		}, nil},
		{"absolute member listed in the manifest", func(outside string) []entry {
			return append(validEntries(), fileEntry(filepath.Join(outside, "x"), "evil"))
		}, nil},
		{"symlink member listed in the manifest", func(outside string) []entry {
			return append(validEntries(), symlink("checkpoint/link", outside))
		}, nil},
		{"symlink member claimed to be a file", func(outside string) []entry {
			return append(validEntries(), symlink("checkpoint/link", outside), fileEntry("checkpoint/link", "evil"))
		}, func(m *Manifest) {
			m.Members = slices.DeleteFunc(m.Members, func(mem Member) bool { return mem.Type == string(tar.TypeSymlink) })
		}},
		{"symlink in place of the checkpoint folder", func(outside string) []entry {
			es := validEntries()
			es[3] = symlink("checkpoint", outside)
			return es
		}, func(m *Manifest) { m.Members[3] = Member{Name: "checkpoint", Type: TypeDir} }},
		{"hard link to a file outside", func(string) []entry {
			return append(validEntries(), hardlink("checkpoint/hl", "/etc/passwd"))
		}, func(m *Manifest) {
			m.Members[len(m.Members)-1] = Member{Name: "checkpoint/hl", Type: TypeFile, SHA256: m.Members[0].SHA256}
		}},
		{"dot-dot entry the manifest does not list", func(string) []entry {
			return append(validEntries(), fileEntry("../x", "evil"))
		}, func(m *Manifest) { m.Members = m.Members[:len(m.Members)-1] }},
		{"absolute entry in place of a listed member", func(outside string) []entry {
			es := validEntries()
			es[4] = fileEntry(filepath.Join(outside, "pages-1.img"), "pages")
			return es
		}, func(m *Manifest) { m.Members[4].Name = "checkpoint/pages-1.img" }},
	} {
		for _, comp := range []string{CompressionNone, CompressionZstd} {
			t.Run(tc.name+"/"+comp, func(t *testing.T) {
				base := t.TempDir()
				outside := filepath.Join(base, "outside")
				must(t, os.Mkdir(outside, 0o700))
				data := buildArchive(t, tc.entries(outside), comp)
				m := manifestFromArchive(data, "default/c1", comp)
				if tc.claim != nil {
					tc.claim(m)
				}

				// Through the store: either Current refuses the manifest
				// or Unpack refuses the archive.
				s, err := New(filepath.Join(base, "store"))
				must(t, err)
				key := mustKey(t, "default/c1")
				installImage(t, s, key, data, m)
				dst := filepath.Join(base, "dst")
				if img, err := s.Current(key); err == nil {
					err = img.Unpack(context.Background(), dst)
					img.Close()
					if !errors.Is(err, ErrCorrupt) {
						t.Errorf("store Unpack err = %v, want ErrCorrupt", err)
					}
				} else if !errors.Is(err, ErrCorrupt) {
					t.Errorf("Current err = %v, want ErrCorrupt", err)
				}

				// Directly, as if the manifest had passed unchecked.
				err = imageOf(t, data, m).Unpack(context.Background(), dst)
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("direct Unpack err = %v, want ErrCorrupt", err)
				}
				t.Log(err)
				if got := folderNames(t, outside); len(got) != 0 {
					t.Errorf("written outside dst: %v", got)
				}
				if got := folderNames(t, base); !slices.Equal(got, []string{"outside", "store"}) {
					t.Errorf("next to dst: %v (a failed Unpack must remove the dst it created)", got)
				}
			})
		}
	}
}

func TestUnpackDoesNotFollowSymlinksAlreadyInDst(t *testing.T) {
	data := buildArchive(t, validEntries(), CompressionNone)
	m := manifestFromArchive(data, "default/c1", CompressionNone)
	must(t, m.check())
	for _, tc := range []struct {
		name  string
		setup func(dst, outside string) string // returns the dst to pass
	}{
		{"symlink named like the checkpoint folder", func(dst, outside string) string {
			must(t, os.Mkdir(dst, 0o700))
			must(t, os.Symlink(outside, filepath.Join(dst, "checkpoint")))
			return dst
		}},
		{"symlink named like a file", func(dst, outside string) string {
			must(t, os.Mkdir(dst, 0o700))
			must(t, os.Symlink(filepath.Join(outside, "spec"), filepath.Join(dst, "spec.dump")))
			return dst
		}},
		{"dst is a symlink", func(dst, outside string) string {
			must(t, os.Symlink(outside, dst))
			return dst
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			must(t, os.Mkdir(outside, 0o700))
			dst := tc.setup(filepath.Join(base, "dst"), outside)
			before := treeOf(t, dst)
			err := imageOf(t, data, m).Unpack(context.Background(), dst)
			if err == nil {
				t.Fatal("Unpack succeeded")
			}
			t.Log(err)
			if got := folderNames(t, outside); len(got) != 0 {
				t.Errorf("written outside dst: %v", got)
			}
			if after := treeOf(t, dst); len(after) != len(before) {
				t.Errorf("dst before %v, after %v: what Unpack wrote must be removed", keys(before), keys(after))
			}
		})
	}
}

func TestUnpackIntoExistingEmptyFolder(t *testing.T) {
	data := buildArchive(t, validEntries(), CompressionZstd)
	m := manifestFromArchive(data, "default/c1", CompressionZstd)
	dst := t.TempDir()
	must(t, imageOf(t, data, m).Unpack(context.Background(), dst))
	got := treeOf(t, dst)
	if got["checkpoint/pages-1.img"] != "pages" || got["dump.log"] != okLog || len(got) != 5 {
		t.Fatalf("unpacked %v", got)
	}
	for name := range got {
		st, _ := os.Lstat(filepath.Join(dst, name))
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, st.Mode().Perm(), want)
		}
	}
}
