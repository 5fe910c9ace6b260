package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileFilesNeverLeaveTheRootfs puts a malicious rootfs-diff.tar into
// an otherwise valid image (sizes and checksums fixed up): the restore falls
// back to a fresh start, and nothing outside the new container's rootfs is
// written.
func TestHostileFilesNeverLeaveTheRootfs(t *testing.T) {
	sentinel := t.TempDir() // a host folder that must stay empty
	hostFile := filepath.Join(t.TempDir(), "host-file")
	must(t, os.WriteFile(hostFile, []byte("host data\n"), 0o644))
	depth := strings.Repeat("../", 12)
	// rejected: the apply refuses the entry (an unsafe layer entry); the
	// symlink case is resolved inside the root instead (as the container
	// itself would see the path), which is just as safe.
	cases := []struct {
		name     string
		entries  []tar.Header
		rejected bool
	}{
		{"dot-dot path", []tar.Header{{Name: depth + sentinel[1:] + "/pwned", Typeflag: tar.TypeReg, Mode: 0o644}}, true},
		{"absolute path", []tar.Header{{Name: sentinel + "/pwned", Typeflag: tar.TypeReg, Mode: 0o644}}, true},
		{"write through a symlink", []tar.Header{
			{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: sentinel},
			{Name: "evil/pwned", Typeflag: tar.TypeReg, Mode: 0o644},
		}, false},
		{"hardlink to a host file", []tar.Header{{Name: "tmp/hl", Typeflag: tar.TypeLink, Linkname: depth + hostFile[1:]}}, true},
	}
	n := newArchNode(t, "hostile", "", "compression = none")
	img := filesImage(t)
	must(t, n.Import(ns, img))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := "hostile-" + string(rune('a'+i))
			key := ns + "/" + id
			n.run(t, filesRef, id, nil)
			waitLogAbove(t, n.TaskLog(ns, id), 5)
			n.checkpointStop(t, id)
			n.remove(t, id)
			rewriteArchive(t, n.arch.Store, key, func(name string, data []byte) ([]byte, bool) {
				if name != "rootfs-diff.tar" {
					return data, true
				}
				return hostileTar(t, c.entries), true
			})
			os.Remove(n.TaskLog(ns, id))
			n.run(t, filesRef, id, nil)
			waitLogAbove(t, n.TaskLog(ns, id), 1)
			if first := logNumbers(t, n.TaskLog(ns, id))[0]; first != 1 {
				t.Fatalf("a hostile image was restored (count starts at %d)", first)
			}
			if ents, _ := os.ReadDir(sentinel); len(ents) != 0 {
				t.Fatalf("the restore wrote outside the rootfs: %v", ents)
			}
			if b, _ := os.ReadFile(hostFile); string(b) != "host data\n" {
				t.Fatalf("host file changed: %q", b)
			}
			if c.rejected && !logHas(n.archLog(), `"id":"`+id+`"`, "unsafe layer entry") {
				t.Fatalf("ARCH's log does not say the entry was refused:\n%s", n.archLog())
			}
			must(t, n.Cleanup(ns, id))
		})
	}
}

func hostileTar(t *testing.T, entries []tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		data := []byte("pwned\n")
		if h.Typeflag != tar.TypeReg {
			data = nil
		}
		h.Size = int64(len(data))
		must(t, tw.WriteHeader(&h))
		_, err := tw.Write(data)
		must(t, err)
	}
	must(t, tw.Close())
	return buf.Bytes()
}

// logHas reports whether one line of log contains every fragment.
func logHas(log string, fragments ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, f := range fragments {
			all = all && strings.Contains(line, f)
		}
		if all {
			return true
		}
	}
	return false
}
