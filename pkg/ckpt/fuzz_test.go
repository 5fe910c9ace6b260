package ckpt

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// Seeds live in testdata/fuzz/<target>/ so that plain `go test` runs them.

// FuzzParseManifest: ParseManifest never panics, fails only with
// ErrCorrupt, and what it accepts has only safe member names.
func FuzzParseManifest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if len(m.Members) == 0 {
			t.Fatal("accepted a manifest without members")
		}
		if strings.ContainsAny(m.Archive.Name, "/\\\x00") || m.Archive.Name == ".." {
			t.Fatalf("accepted archive name %q", m.Archive.Name)
		}
		seen := map[string]bool{}
		for _, mem := range m.Members {
			n := mem.Name
			if !filepath.IsLocal(n) || path.Clean(n) != n || strings.ContainsAny(n, "\\\x00") || seen[n] {
				t.Fatalf("accepted unsafe or duplicate member name %q", n)
			}
			seen[n] = true
		}
	})
}

// FuzzUnpack: for arbitrary archive bytes and the manifest they imply,
// Unpack never panics, never writes outside dst, leaves nothing behind when
// it fails, agrees with Verify, and extracts only regular files and
// folders named in the manifest.
func FuzzUnpack(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, compressed bool) {
		if len(data) > 1<<20 {
			return
		}
		comp := CompressionNone
		if compressed {
			comp = CompressionZstd
		}
		m := manifestFromArchive(data, "default/c1", comp)
		img := imageOf(t, data, m)
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		must(t, os.Mkdir(outside, 0o700))
		dst := filepath.Join(base, "dst")

		uerr := img.Unpack(context.Background(), dst)
		verr := img.Verify(context.Background())
		if (uerr == nil) != (verr == nil) {
			t.Fatalf("Unpack: %v, Verify: %v", uerr, verr)
		}
		if got := folderNames(t, outside); len(got) != 0 {
			t.Fatalf("written outside dst: %v", got)
		}
		if uerr != nil {
			if got := folderNames(t, base); len(got) != 1 {
				t.Fatalf("failed Unpack left %v (%v)", got, uerr)
			}
			return
		}
		if err := m.check(); err != nil {
			t.Fatalf("Unpack accepted a manifest that fails its check: %v", err)
		}
		members := map[string]*Member{}
		for i := range m.Members {
			members[m.Members[i].Name] = &m.Members[i]
		}
		err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == dst {
				return err
			}
			rel, _ := filepath.Rel(dst, p)
			mem := members[filepath.ToSlash(rel)]
			switch {
			case mem == nil:
				t.Errorf("%s is not in the manifest", rel)
			case d.IsDir() != (mem.Type == TypeDir) || !d.IsDir() && !d.Type().IsRegular():
				t.Errorf("%s is a %v, the manifest says %s", rel, d.Type(), mem.Type)
			}
			return nil
		})
		must(t, err)
	})
}
