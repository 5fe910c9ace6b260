package ckpt

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rewriteArchive replaces the archive of key's image with mutate(entries)
// and fixes the manifest's archive size and CRC32C, so that only the
// member checks can notice. With fixMembers the member list is rebuilt too.
func rewriteArchive(t *testing.T, s *Store, key Key, mutate func([]entry) []entry, fixMembers bool) {
	t.Helper()
	img := current(t, s, key)
	m := *img.Manifest
	data := buildArchive(t, mutate(readEntries(t, img)), m.Archive.Compression)
	m.Archive.Size, m.Archive.CRC32C = int64(len(data)), crc32cHex(data)
	if fixMembers {
		m.Members = manifestFromArchive(data, m.Key, m.Archive.Compression).Members
	}
	must(t, os.WriteFile(img.ArchivePath(), data, 0o600))
	mj, err := json.Marshal(&m)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(s.keyDir(key), manifestFile), mj, 0o600))
}

func TestCorruptImageIsReportedAsErrCorrupt(t *testing.T) {
	pages := pagesData(1<<20, 1)
	for _, tc := range []struct {
		name        string
		compression string
		damage      func(t *testing.T, s *Store, key Key, m *Manifest)
		want        string
	}{
		{"flipped byte in a member", CompressionNone, func(t *testing.T, s *Store, key Key, m *Manifest) {
			p := filepath.Join(s.keyDir(key), m.Archive.Name)
			data, _ := os.ReadFile(p)
			i := bytes.Index(data, pages[:256])
			data[i+1000] ^= 1
			must(t, os.WriteFile(p, data, 0o600))
		}, "member checkpoint/pages-1.img: sha256 mismatch"},
		{"flipped byte in compressed data", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			p := filepath.Join(s.keyDir(key), m.Archive.Name)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0x40
			must(t, os.WriteFile(p, data, 0o600))
		}, ""},
		{"flipped byte in tar padding", CompressionNone, func(t *testing.T, s *Store, key Key, m *Manifest) {
			p := filepath.Join(s.keyDir(key), m.Archive.Name)
			data, _ := os.ReadFile(p)
			data[512+m.Members[0].Size] ^= 1 // after config.dump, before the next 512-byte block
			must(t, os.WriteFile(p, data, 0o600))
		}, "archive crc32c mismatch"},
		{"truncated archive", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			must(t, os.Truncate(filepath.Join(s.keyDir(key), m.Archive.Name), m.Archive.Size-100))
		}, "archive truncated"},
		{"archive longer than the manifest says", CompressionNone, func(t *testing.T, s *Store, key Key, m *Manifest) {
			f, _ := os.OpenFile(filepath.Join(s.keyDir(key), m.Archive.Name), os.O_APPEND|os.O_WRONLY, 0)
			f.Write(make([]byte, 512))
			f.Close()
		}, "manifest says"},
		{"missing dump.log member", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			rewriteArchive(t, s, key, func(es []entry) []entry {
				return slices.DeleteFunc(es, func(e entry) bool { return e.hdr.Name == "dump.log" })
			}, false)
		}, "member dump.log missing"},
		{"extra member", CompressionNone, func(t *testing.T, s *Store, key Key, m *Manifest) {
			rewriteArchive(t, s, key, func(es []entry) []entry {
				return append(es, fileEntry("checkpoint/extra.img", "x"))
			}, false)
		}, `unexpected member "checkpoint/extra.img"`},
		{"member listed twice", CompressionNone, func(t *testing.T, s *Store, key Key, m *Manifest) {
			rewriteArchive(t, s, key, func(es []entry) []entry { return append(es, es[0]) }, false)
		}, "member config.dump appears twice"},
		{"dump.log without success line", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			rewriteArchive(t, s, key, func(es []entry) []entry {
				for i := range es {
					if es[i].hdr.Name == "dump.log" {
						es[i] = fileEntry("dump.log", "(00.1) Error: Dumping FAILED.\n")
					}
				}
				return es
			}, true)
		}, "member dump.log: dump.log does not end with"},
		{"symlink where a file was", CompressionNone, func(t *testing.T, s *Store, key Key, m *Manifest) {
			rewriteArchive(t, s, key, func(es []entry) []entry {
				for i := range es {
					if es[i].hdr.Name == "checkpoint/pstree.img" {
						es[i] = entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "checkpoint/pstree.img", Linkname: "/etc/shadow"}}
					}
				}
				return es
			}, false)
		}, "member checkpoint/pstree.img: tar entry type '2' is not allowed"},
		{"manifest naming a missing archive", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			must(t, os.Remove(filepath.Join(s.keyDir(key), m.Archive.Name)))
		}, "named by the manifest is missing"},
		{"archive is a symlink", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			p := filepath.Join(s.keyDir(key), m.Archive.Name)
			must(t, os.Rename(p, p+".real"))
			must(t, os.Symlink(p+".real", p))
		}, "is a symlink"},
		{"manifest garbage", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			must(t, os.WriteFile(filepath.Join(s.keyDir(key), manifestFile), []byte("{\"formatVersion\": 1, \x00"), 0o600))
		}, "manifest"},
		{"manifest of another key", CompressionZstd, func(t *testing.T, s *Store, key Key, m *Manifest) {
			other := *m
			other.Key = "default/other"
			mj, _ := json.Marshal(&other)
			must(t, os.WriteFile(filepath.Join(s.keyDir(key), manifestFile), mj, 0o600))
		}, `manifest is for key "default/other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "default/c1")
			staging := makeStaging(t, stagingOpts{})
			must(t, os.WriteFile(filepath.Join(staging, "checkpoint/pages-1.img"), pages, 0o600))
			m := commit(t, s, key, staging, tc.compression)
			tc.damage(t, s, key, m)

			img, err := s.Current(key)
			if err == nil {
				defer img.Close()
				err = img.Verify(context.Background())
				dst := filepath.Join(t.TempDir(), "dst")
				uerr := img.Unpack(context.Background(), dst)
				if !errors.Is(uerr, ErrCorrupt) || !strings.Contains(uerr.Error(), tc.want) {
					t.Errorf("Unpack err = %v, want ErrCorrupt mentioning %q", uerr, tc.want)
				}
				if _, serr := os.Lstat(dst); !os.IsNotExist(serr) {
					t.Errorf("failed Unpack left %s behind: %v", dst, treeOf(t, dst))
				}
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestCurrentWithoutImageIsErrNoImage(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/none")
	if _, err := s.Current(key); !errors.Is(err, ErrNoImage) {
		t.Fatalf("empty store: err = %v", err)
	}
	must(t, os.MkdirAll(s.keyDir(key), 0o700))
	if _, err := s.Current(key); !errors.Is(err, ErrNoImage) {
		t.Fatalf("empty key folder: err = %v", err)
	}
}

func TestCancelledVerifyIsNotCorrupt(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "a")
	commit(t, s, key, makeStaging(t, stagingOpts{pages: 4 << 20}), CompressionZstd)
	img := current(t, s, key)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range []error{img.Verify(ctx), img.Unpack(ctx, filepath.Join(t.TempDir(), "d"))} {
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want context.Canceled and not ErrCorrupt", err)
		}
	}
}
