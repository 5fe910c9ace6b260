package layer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseOverlayOptions(t *testing.T) {
	opts := `rw,index=off,lowerdir=/var/lib/c/snapshots/2/fs:/var/lib/c/snapshots/1/fs,upperdir=/var/lib/c/snapshots/3/fs,workdir=/var/lib/c/snapshots/3/work,uuid=on`
	o, err := parseOverlayOptions("/run/b/rootfs", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := &Overlay{Mountpoint: "/run/b/rootfs", Lower: []string{"/var/lib/c/snapshots/2/fs", "/var/lib/c/snapshots/1/fs"},
		Upper: "/var/lib/c/snapshots/3/fs", Work: "/var/lib/c/snapshots/3/work"}
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v", o)
	}
}

func TestParseOverlayOptionsEscapes(t *testing.T) {
	o, err := parseOverlayOptions("/r", `lowerdir=/a\:b:/c\,d,upperdir=/u\,1,workdir=/w`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Lower, []string{"/a:b", "/c,d"}) || o.Upper != "/u,1" {
		t.Fatalf("got %+v", o)
	}
}

func TestParseOverlayOptionsDataOnlyLayers(t *testing.T) {
	o, err := parseOverlayOptions("/r", `lowerdir=/l1:/l2::/d1::/d2,upperdir=/u,workdir=/w`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Lower, []string{"/l1", "/l2"}) || !reflect.DeepEqual(o.DataLower, []string{"/d1", "/d2"}) {
		t.Fatalf("got %+v", o)
	}
	o, err = parseOverlayOptions("/r", `lowerdir+=/l1,lowerdir+=/l2,datadir+=/d1,upperdir=/u,workdir=/w`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Lower, []string{"/l1", "/l2"}) || !reflect.DeepEqual(o.DataLower, []string{"/d1"}) {
		t.Fatalf("got %+v", o)
	}
}

func TestRelativeLowerdirsResolveFromTheSnapshotsFolder(t *testing.T) {
	snaps := t.TempDir()
	for _, d := range []string{"1/fs", "2/fs", "3/fs"} {
		if err := os.MkdirAll(filepath.Join(snaps, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o, err := parseOverlayOptions("/r", "lowerdir=2/fs:1/fs,upperdir="+snaps+"/3/fs,workdir="+snaps+"/3/work")
	if err != nil {
		t.Fatal(err)
	}
	o.resolveRelativeLowers()
	if !reflect.DeepEqual(o.Lower, []string{snaps + "/2/fs", snaps + "/1/fs"}) {
		t.Fatalf("got %v", o.Lower)
	}
}

func TestReadOnlyOverlayIsNotCapturable(t *testing.T) {
	if _, err := parseOverlayOptions("/r", "lowerdir=/a:/b"); !errors.Is(err, ErrNotOverlay) {
		t.Fatalf("err = %v", err)
	}
}

func TestFindOverlayOnAPlainFolder(t *testing.T) {
	if _, err := FindOverlay(t.TempDir()); !errors.Is(err, ErrNotOverlay) {
		t.Fatalf("err = %v", err)
	}
}

func makeLayer(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(c), 0o755)
		os.Chtimes(full, time.Unix(1700000000, 0), time.Unix(1700000000, 0))
	}
	return dir
}

func TestIdentitySameContentSameFingerprint(t *testing.T) {
	files := map[string]string{"bin/app": "v1", "etc/conf": "x"}
	a, err := Identity([]string{makeLayer(t, files)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Identity([]string{makeLayer(t, files)}, nil)
	if a != b {
		t.Fatalf("same layer content, different fingerprints: %s %s", a, b)
	}
	c, _ := Identity([]string{makeLayer(t, map[string]string{"bin/app": "v22", "etc/conf": "x"})}, nil)
	if c == a {
		t.Fatal("a changed binary must change the fingerprint")
	}
	d, _ := Identity([]string{makeLayer(t, map[string]string{"etc/conf": "x"}), makeLayer(t, map[string]string{"bin/app": "v1"})}, nil)
	if d == a {
		t.Fatal("a different layering must change the fingerprint")
	}
}

// TestDigestCacheServesALayerOnceWalked: the second fingerprint of the same
// layer folder comes from the cache (a change deep inside it, which a
// committed layer never has, is not seen), and a folder made again under
// the same path is a new entry.
func TestDigestCacheServesALayerOnceWalked(t *testing.T) {
	cache := &DigestCache{Dir: t.TempDir()}
	files := map[string]string{"bin/app": "v1", "etc/conf": "x"}
	dir := makeLayer(t, files)
	first, err := Identity([]string{dir}, cache)
	if err != nil {
		t.Fatal(err)
	}
	if uncached, _ := Identity([]string{dir}, nil); uncached != first {
		t.Fatalf("cached %s, walked %s", first, uncached)
	}
	os.WriteFile(filepath.Join(dir, "bin/app"), []byte("changed"), 0o755)
	if again, _ := Identity([]string{dir}, cache); again != first {
		t.Fatal("the second fingerprint walked the layer again")
	}
	os.RemoveAll(dir)
	remade := makeLayer(t, map[string]string{"bin/app": "v22", "etc/conf": "x"})
	os.Rename(remade, dir)
	if other, _ := Identity([]string{dir}, cache); other == first {
		t.Fatal("a layer folder made again under the same path got the old digest")
	}
}

// TestLegacyIdentityIsTheOldFingerprint: images committed before per-layer
// digests carry "sha256:" fingerprints, which LegacyIdentity reproduces.
func TestLegacyIdentityIsTheOldFingerprint(t *testing.T) {
	dir := makeLayer(t, map[string]string{"bin/app": "v1"})
	old, err := LegacyIdentity([]string{dir})
	if err != nil || !IsLegacyIdentity(old) {
		t.Fatalf("LegacyIdentity = %s, %v", old, err)
	}
	if now, _ := Identity([]string{dir}, nil); IsLegacyIdentity(now) || !strings.HasPrefix(now, IdentityPrefix) {
		t.Fatalf("Identity = %s", now)
	}
}

// TestSymlinkedLayerFolderIsTheFolder: Docker's overlay2 gives its layers
// as symlinks (l/XXXX); the fingerprint is the layer's, with or without
// the cache.
func TestSymlinkedLayerFolderIsTheFolder(t *testing.T) {
	dir := makeLayer(t, map[string]string{"bin/app": "v1"})
	link := filepath.Join(t.TempDir(), "l")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	want, err := Identity([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cache := range []*DigestCache{nil, {Dir: t.TempDir()}} {
		got, err := Identity([]string{link}, cache)
		if err != nil || got != want {
			t.Fatalf("cache %v: %s, %v; want %s", cache, got, err, want)
		}
	}
}
