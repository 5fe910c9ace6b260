package ckpt

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

const testSpec = `{"ociVersion":"1.2.0","process":{"args":["/bin/sh","-c","count"],"cwd":"/"},"root":{"path":"rootfs"},"annotations":{"io.kubernetes.cri.container-name":"ctr"}}`

const okLog = "(00.000001) Version: 4.1.1\n(00.123456) Dumping finished successfully\n"

// stagingOpts shapes a fake dump.
type stagingOpts struct {
	pages    int  // bytes of checkpoint/pages-1.img
	optional bool // stats-dump, rootfs-diff.tar, deleted.files, bind.mounts
	nested   bool // checkpoint/sub/inner.img
	log      string
}

// makeStaging writes a fake CRIU dump into a new folder and returns it.
func makeStaging(t testing.TB, o stagingOpts) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "staging")
	must(t, os.MkdirAll(filepath.Join(dir, "checkpoint"), 0o700))
	if o.log == "" {
		o.log = okLog
	}
	files := map[string][]byte{
		"dump.log":                    []byte(o.log),
		"checkpoint/pstree.img":       []byte("pstree"),
		"checkpoint/core-1.img":       bytes.Repeat([]byte("core"), 300),
		"checkpoint/descriptors.json": []byte(`["/dev/null","pipe:[1]","pipe:[2]"]`),
		"checkpoint/empty.img":        {},
		"checkpoint/pages-1.img":      pagesData(o.pages, 1),
	}
	if o.optional {
		files["stats-dump"] = []byte{1, 2, 3}
		files["rootfs-diff.tar"] = bytes.Repeat([]byte{0}, 10240)
		files["deleted.files"] = []byte(`["/etc/motd"]`)
		files["bind.mounts"] = []byte(`[]`)
	}
	if o.nested {
		must(t, os.MkdirAll(filepath.Join(dir, "checkpoint/sub"), 0o700))
		files["checkpoint/sub/inner.img"] = []byte("inner")
	}
	for name, data := range files {
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	return dir
}

// pagesData is n bytes that look like memory: random, zero and repetitive
// 4 KiB pages.
func pagesData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for off := 0; off < n; off += 4096 {
		page := b[off:min(off+4096, n)]
		switch rng.IntN(4) {
		case 0, 1:
			for i := 0; i+8 <= len(page); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					page[i+j] = byte(v >> (8 * j))
				}
			}
		case 2: // zero page
		case 3:
			for i := range page {
				page[i] = "the quick brown fox "[i%20]
			}
		}
	}
	return b
}

func testMeta() Meta {
	return Meta{
		Namespace:      "default",
		ContainerID:    "c1",
		RuncRoot:       "/run/containerd/runc/default",
		ImageReference: "docker.io/library/busybox:latest",
		RootfsIdentity: "sha256:" + strings.Repeat("ab", 32),
		Args:           []string{"/bin/sh", "-c", "count"},
		Spec:           []byte(testSpec),
		CreatedAt:      time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

func newTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := New(filepath.Join(t.TempDir(), "store"))
	must(t, err)
	return s
}

func mustKey(t testing.TB, raw string) Key {
	t.Helper()
	k, err := ParseKey(raw)
	must(t, err)
	return k
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func commit(t testing.TB, s *Store, key Key, staging, compression string) *Manifest {
	t.Helper()
	m, err := s.Commit(context.Background(), key, staging, testMeta(), CommitOptions{Compression: compression})
	must(t, err)
	return m
}

func current(t testing.TB, s *Store, key Key) *Image {
	t.Helper()
	img, err := s.Current(key)
	must(t, err)
	t.Cleanup(func() { img.Close() })
	return img
}

// folderNames lists the names in dir, sorted.
func folderNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// treeOf maps every path under dir to its content ("<dir>" for folders)
// and fails on anything that is neither.
func treeOf(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
		case d.IsDir():
			out[rel] = "<dir>"
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		default:
			out[rel] = "<" + d.Type().String() + ">"
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// entry is one member of a hand-made archive.
type entry struct {
	hdr  tar.Header
	data []byte
}

func fileEntry(name, data string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o600}, data: []byte(data)}
}

func dirEntry(name string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o700}}
}

// validEntries is the smallest archive content that passes every check.
func validEntries() []entry {
	return []entry{
		fileEntry("config.dump", `{}`),
		fileEntry("spec.dump", `{}`),
		fileEntry("dump.log", okLog),
		dirEntry("checkpoint"),
		fileEntry("checkpoint/pages-1.img", "pages"),
	}
}

// buildArchive writes entries as a tar archive, zstd-compressed or not.
func buildArchive(t testing.TB, entries []entry, compression string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *zstd.Encoder
	if compression == CompressionZstd {
		var err error
		zw, err = zstd.NewWriter(&buf)
		must(t, err)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := e.hdr
		must(t, tw.WriteHeader(&hdr))
		_, err := tw.Write(e.data)
		must(t, err)
	}
	must(t, tw.Close())
	if zw != nil {
		must(t, zw.Close())
	}
	return buf.Bytes()
}

// manifestFromArchive builds the manifest an archive's own bytes imply:
// every entry it can read becomes a member (entries of other types keep
// their tar type letter, so that the manifest check rejects them).
func manifestFromArchive(data []byte, key, compression string) *Manifest {
	id := "20250301T100000.000000000Z-0123abcd"
	m := &Manifest{
		FormatVersion:  FormatVersion,
		ImageID:        id,
		Key:            key,
		Source:         Source{ContainerID: "c1"},
		CheckpointedAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
		Archive:        Archive{Name: archiveName(id, compression), Compression: compression, Size: int64(len(data)), CRC32C: crc32cHex(data)},
	}
	var in io.Reader = bytes.NewReader(data)
	if compression == CompressionZstd {
		dec, err := zstd.NewReader(in, zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return m
		}
		defer dec.Close()
		in = dec
	}
	tr := tar.NewReader(io.LimitReader(in, 16<<20))
	for len(m.Members) < 1000 {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		mem := Member{Name: strings.TrimSuffix(hdr.Name, "/"), Type: string(hdr.Typeflag)}
		switch hdr.Typeflag {
		case tar.TypeDir:
			mem.Type = TypeDir
		case tar.TypeReg:
			h := sha256.New()
			n, _ := io.Copy(h, io.LimitReader(tr, 64<<20))
			mem.Type, mem.Size, mem.SHA256 = TypeFile, n, hex.EncodeToString(h.Sum(nil))
		}
		m.Members = append(m.Members, mem)
	}
	return m
}

// installImage puts an archive and its manifest into the store as the
// current image of key, bypassing Commit.
func installImage(t testing.TB, s *Store, key Key, data []byte, m *Manifest) {
	t.Helper()
	dir := s.keyDir(key)
	must(t, os.MkdirAll(dir, 0o700))
	must(t, os.WriteFile(filepath.Join(dir, m.Archive.Name), data, 0o600))
	mj, err := json.Marshal(m)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, manifestFile), mj, 0o600))
}

// readEntries reads back the entries of an image's archive.
func readEntries(t testing.TB, img *Image) []entry {
	t.Helper()
	data, err := os.ReadFile(img.ArchivePath())
	must(t, err)
	var in io.Reader = bytes.NewReader(data)
	if img.Manifest.Archive.Compression == CompressionZstd {
		dec, err := zstd.NewReader(in)
		must(t, err)
		defer dec.Close()
		in = dec
	}
	tr := tar.NewReader(in)
	var out []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		b, err := io.ReadAll(tr)
		must(t, err)
		out = append(out, entry{hdr: *hdr, data: b})
	}
}
