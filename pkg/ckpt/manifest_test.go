package ckpt

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func validManifest(t testing.TB) *Manifest {
	t.Helper()
	m := manifestFromArchive(buildArchive(t, validEntries(), CompressionZstd), "default/c1", CompressionZstd)
	must(t, m.check())
	return m
}

func TestParseManifestRoundTrips(t *testing.T) {
	m := validManifest(t)
	m.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	m.Process.Args = []string{"sh"}
	m.Capture = Capture{Files: false, Reason: "no rootfs diff yet"}
	data, err := m.marshal()
	must(t, err)
	got, err := ParseManifest(data)
	must(t, err)
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, m)
	}
}

func TestParseManifestIsStrict(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *Manifest)
		want string
	}{
		{"formatVersion missing", func(m *Manifest) { m.FormatVersion = 0 }, "formatVersion missing"},
		{"formatVersion unknown", func(m *Manifest) { m.FormatVersion = 2 }, "unsupported formatVersion 2"},
		{"imageID missing", func(m *Manifest) { m.ImageID = "" }, "imageID"},
		{"imageID with a slash", func(m *Manifest) { m.ImageID = "../x" }, "imageID"},
		{"key invalid", func(m *Manifest) { m.Key = "../etc" }, "key"},
		{"checkpointedAt missing", func(m *Manifest) { m.CheckpointedAt = time.Time{} }, "checkpointedAt missing"},
		{"containerID missing", func(m *Manifest) { m.Source.ContainerID = "" }, "containerID missing"},
		{"archive name is a path", func(m *Manifest) { m.Archive.Name = "../" + m.Archive.Name }, "archive.name"},
		{"archive name of another image", func(m *Manifest) { m.Archive.Name = "20250301T100000.000000000Z-ffffffff.tar.zst" }, "archive.name"},
		{"archive name does not match compression", func(m *Manifest) { m.Archive.Compression = CompressionNone }, "archive.name"},
		{"compression unknown", func(m *Manifest) { m.Archive.Compression = "gzip" }, "archive.compression"},
		{"archive size zero", func(m *Manifest) { m.Archive.Size = 0 }, "archive.size"},
		{"archive crc32c malformed", func(m *Manifest) { m.Archive.CRC32C = strings.ToUpper(m.Archive.CRC32C) + "0" }, "archive.crc32c"},
		{"no members", func(m *Manifest) { m.Members = nil }, "no members"},
		{"absolute member", func(m *Manifest) { m.Members[4].Name = "/checkpoint/pages-1.img" }, "absolute path"},
		{"dot-dot member", func(m *Manifest) { m.Members[4].Name = "checkpoint/../../x" }, `".."`},
		{"dot member", func(m *Manifest) { m.Members[4].Name = "checkpoint/./x" }, `"."`},
		{"backslash member", func(m *Manifest) { m.Members[4].Name = `checkpoint/..\x` }, `'\\'`},
		{"NUL member", func(m *Manifest) { m.Members[4].Name = "checkpoint/x\x00" }, `'\x00'`},
		{"trailing slash member", func(m *Manifest) { m.Members[4].Name = "checkpoint/x/" }, "empty path component"},
		{"duplicate member", func(m *Manifest) { m.Members = append(m.Members, m.Members[4]) }, "listed twice"},
		{"member before its folder", func(m *Manifest) { m.Members[3], m.Members[4] = m.Members[4], m.Members[3] }, "is not listed before it"},
		{"member under a file", func(m *Manifest) {
			m.Members = append(m.Members, Member{Name: "dump.log/x", Type: TypeFile, SHA256: m.Members[0].SHA256})
		}, "is not listed before it"},
		{"unknown member type", func(m *Manifest) { m.Members[4].Type = "symlink" }, `type "symlink"`},
		{"file without sha256", func(m *Manifest) { m.Members[4].SHA256 = "" }, "sha256"},
		{"folder with a size", func(m *Manifest) { m.Members[3].Size = 1 }, "a folder has no size"},
		{"dump.log missing", func(m *Manifest) { m.Members = append(m.Members[:2], m.Members[3:]...) }, "required file member dump.log missing"},
		{"checkpoint folder is a file", func(m *Manifest) {
			m.Members = append(m.Members[:3], Member{Name: "checkpoint", Type: TypeFile, SHA256: m.Members[0].SHA256})
		}, "required dir member checkpoint missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := validManifest(t)
			tc.edit(m)
			data, err := json.Marshal(m)
			must(t, err)
			_, err = ParseManifest(data)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
}

func TestParseManifestRejectsGarbage(t *testing.T) {
	good, err := validManifest(t).marshal()
	must(t, err)
	for _, data := range []string{"", "null", "[]", "{", "\x00", string(good) + "{}", string(good) + "x", `{"formatVersion":"1"}`} {
		if _, err := ParseManifest([]byte(data)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ParseManifest(%.30q) = %v, want ErrCorrupt", data, err)
		}
	}
}
