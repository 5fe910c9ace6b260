package hookcli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// archHook runs arch-hook with args and returns status, stdout, stderr.
func archHook(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"arch-hook"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// storeTestConfig writes an ARCH configuration whose log and store live in
// dir, so that tests never touch the node's.
func storeTestConfig(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "arch.conf")
	conf := "log_file = " + dir + "/log/arch.log\nstore = " + dir + "/store\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// storeImage commits an image for key into the store at root, checkpointed
// at at (now when zero).
func storeImage(t *testing.T, root, key string, at time.Time) *ckpt.Manifest {
	t.Helper()
	staging := t.TempDir()
	files := map[string]string{
		"checkpoint/pages-1.img": strings.Repeat("memory", 1000),
		"dump.log":               "(00.1) Dumping finished successfully\n",
	}
	os.MkdirAll(filepath.Join(staging, "checkpoint"), 0o700)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(staging, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := ckpt.New(root)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ckpt.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	meta := ckpt.Meta{ContainerID: "c1", Args: []string{"/job"}, Spec: []byte(`{}`), CheckpointedAt: at}
	m, err := s.Commit(context.Background(), k, staging, meta, ckpt.CommitOptions{Compression: ckpt.CompressionNone})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testStore fills a store with one key folder of every status and returns
// the configuration and the store root.
func testStore(t *testing.T) (cfg, root string) {
	t.Helper()
	dir := t.TempDir()
	cfg = storeTestConfig(t, dir)
	root = filepath.Join(dir, "store")
	storeImage(t, root, "default/complete", time.Time{})
	storeImage(t, root, "default/restored", time.Now().Add(-50*time.Hour))
	s, _ := ckpt.New(root)
	k, _ := ckpt.ParseKey("default/restored")
	img, err := s.Current(k)
	if err != nil {
		t.Fatal(err)
	}
	img.Close()
	if err := s.MarkRestored(k, img.ID(), ckpt.RestoredInfo{ContainerID: "c2"}); err != nil {
		t.Fatal(err)
	}
	// Same size, different content: only --verify notices.
	m := storeImage(t, root, "default/flipped", time.Time{})
	archive := filepath.Join(root, "default%2Fflipped", m.Archive.Name)
	data, _ := os.ReadFile(archive)
	data[len(data)/2] ^= 0xff
	os.WriteFile(archive, data, 0o600)
	// An interrupted commit.
	os.MkdirAll(filepath.Join(root, "default%2Fcrashed"), 0o700)
	os.WriteFile(filepath.Join(root, "default%2Fcrashed", ".incoming-20250301T100000.000000000Z-0badc0de.tar.zst"), []byte("half"), 0o600)
	// Not a key folder.
	os.MkdirAll(filepath.Join(root, "not a key"), 0o700)
	return cfg, root
}

func TestListTable(t *testing.T) {
	cfg, root := testStore(t)
	code, out, errOut := archHook(t, "list", "--config", cfg)
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	for _, want := range []string{
		"store: " + root, "check: presence and size",
		"KEY", "IMAGE", "SIZE", "AGE", "STATUS", "VALID", "LEFTOVERS",
		"default/complete", "default/restored", "restored", "2d02h",
		"default/crashed", "incomplete",
		`?"not a key"`, "corrupt",
		"5 key folders: 2 complete, 1 restored, 1 incomplete, 1 corrupt",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Aligned: every row's STATUS column starts where the header's does.
	lines := strings.Split(out, "\n")
	var header string
	for _, l := range lines {
		if strings.HasPrefix(l, "KEY") {
			header = l
		}
	}
	col := strings.Index(header, "STATUS")
	for _, l := range lines {
		if strings.HasPrefix(l, "default/") {
			if f := strings.Fields(l[col:]); len(f) == 0 || !strings.Contains("complete restored incomplete corrupt", f[0]) {
				t.Errorf("row not aligned with the header: %q", l)
			}
		}
	}
	if !strings.Contains(out, "default/flipped") || strings.Contains(lineWith(out, "default/flipped"), "corrupt") {
		t.Errorf("without --verify a same-size damaged archive looks complete:\n%s", out)
	}
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestListVerifyJSON(t *testing.T) {
	cfg, root := testStore(t)
	code, out, errOut := archHook(t, "list", "--config", cfg, "--store", root, "--verify", "--json")
	if code != 0 {
		t.Fatalf("status %d: %s", code, errOut)
	}
	var rep ListReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rep.Verified || !rep.Exists || rep.Store != root || !strings.HasPrefix(rep.Check, "full") {
		t.Errorf("header %+v", rep)
	}
	byKey := map[string]ListEntry{}
	for _, im := range rep.Images {
		byKey[im.Key+"|"+im.Folder] = im
	}
	check := func(id string, status ckpt.Status, valid bool) ListEntry {
		t.Helper()
		im, ok := byKey[id]
		if !ok || im.Status != status || im.Valid != valid {
			t.Errorf("%s: %+v", id, im)
		}
		return im
	}
	c := check("default/complete|default%2Fcomplete", ckpt.StatusComplete, true)
	if c.Size <= 0 || c.SizeHuman == "" || c.ImageID == "" || c.AgeSeconds < 0 || c.Age == "" {
		t.Errorf("complete: %+v", c)
	}
	r := check("default/restored|default%2Frestored", ckpt.StatusRestored, true)
	if r.Restored == nil || r.Restored.ContainerID != "c2" || r.AgeSeconds < 50*3600 {
		t.Errorf("restored: %+v", r)
	}
	if f := check("default/flipped|default%2Fflipped", ckpt.StatusCorrupt, false); f.Problem == "" {
		t.Error("corrupt image without a problem")
	}
	if i := check("default/crashed|default%2Fcrashed", ckpt.StatusIncomplete, false); len(i.Leftovers) != 1 {
		t.Errorf("incomplete: %+v", i)
	}
	check("|not a key", ckpt.StatusCorrupt, false)
}

func TestListMissingAndUnreadableStore(t *testing.T) {
	dir := t.TempDir()
	cfg := storeTestConfig(t, dir)
	code, out, _ := archHook(t, "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "does not exist") {
		t.Errorf("missing store: %d %s", code, out)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	code, _, errOut := archHook(t, "list", "--config", cfg, "--store", file)
	if code != 1 || !strings.Contains(errOut, "not a folder") {
		t.Errorf("store is a file: %d %s", code, errOut)
	}
	if code, _, _ := archHook(t, "list", "extra"); code != 2 {
		t.Errorf("extra argument: %d", code)
	}
}

func TestHumanUnits(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 30: "5.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %s", n, got)
		}
	}
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 12 * time.Minute: "12m", 3*time.Hour + 5*time.Minute: "3h05m",
		52 * time.Hour: "2d04h", 30 * 24 * time.Hour: "30d", -time.Second: "in the future",
	} {
		if got := humanAge(d); got != want {
			t.Errorf("humanAge(%v) = %s", d, got)
		}
	}
}

// TestListVerifyShowsUnsignedImages: on a node with image_hmac_key_file,
// an image no node holding the key signed is listed as unsigned, and
// --json says it is not valid.
func TestListVerifyShowsUnsignedImages(t *testing.T) {
	dir := t.TempDir()
	conf := storeTestConfig(t, dir)
	key := filepath.Join(dir, "image.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("image_hmac_key_file = " + key + "\n")
	f.Close()
	storeImage(t, filepath.Join(dir, "store"), "jobs/unsigned", time.Time{})
	code, out, errOut := archHook(t, "list", "--verify", "--json", "--config", conf)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep ListReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 1 || rep.Images[0].Status != ckpt.StatusUnsigned || rep.Images[0].Valid {
		t.Fatalf("list: %+v", rep.Images)
	}
	if code, out, _ := archHook(t, "list", "--verify", "--config", conf); code != 0 || !strings.Contains(out, "unsigned") {
		t.Fatalf("list (table): exit %d\n%s", code, out)
	}
}
