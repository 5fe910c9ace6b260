package specpatch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPatchFileTwiceIsPatchFileOnce(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			p := copyFixture(t, name, 0o644)
			changed, err := PatchFile(p, archMods()...)
			if err != nil || !changed {
				t.Fatalf("first PatchFile = %v, %v; want true, nil", changed, err)
			}
			first := statFile(t, p)
			time.Sleep(10 * time.Millisecond) // a rewrite would show in mtime
			changed, err = PatchFile(p, archMods()...)
			if err != nil || changed {
				t.Fatalf("second PatchFile = %v, %v; want false, nil", changed, err)
			}
			if second := statFile(t, p); second != first {
				t.Fatalf("second PatchFile touched the file: inode %d->%d, mtime %d->%d, same bytes %v",
					first.inode, second.inode, first.mtime, second.mtime, first.data == second.data)
			}
		})
	}
}

func TestPatchFileKeepsMode(t *testing.T) {
	for _, perm := range []os.FileMode{0o600, 0o644, 0o640} {
		t.Run(perm.String(), func(t *testing.T) {
			p := copyFixture(t, "containerd-1.6-ctr-run.json", perm)
			if changed, err := PatchFile(p, archMods()...); err != nil || !changed {
				t.Fatalf("PatchFile = %v, %v", changed, err)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != perm {
				t.Fatalf("mode %v, want %v", st.Mode(), perm)
			}
		})
	}
}

func TestPatchFileLeavesFileUntouchedOnError(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		mods    []Modifier
		wantErr error
	}{
		{name: "mount target taken after a successful hook edit", fixture: "no-hooks.json",
			mods: []Modifier{
				WithHook(StagePrestart, archHook),
				WithMount(specs.Mount{Destination: "/data/", Type: "tmpfs", Source: "tmpfs"}),
				WithCwd(archCwd),
			},
			wantErr: ErrMountTargetTaken},
		{name: "modifier of the caller fails", fixture: "nvidia-hooks.json",
			mods:    []Modifier{WithCwd(archCwd), func(*Doc) error { return errBoom }},
			wantErr: errBoom},
		{name: "unknown stage", fixture: "containerd-1.6-ctr-run.json",
			mods: []Modifier{WithHook("prerestore", archHook)}, wantErr: ErrUnknownStage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := copyFixture(t, tt.fixture, 0o600)
			before := statFile(t, p)
			changed, err := PatchFile(p, tt.mods...)
			if !errors.Is(err, tt.wantErr) || changed {
				t.Fatalf("PatchFile = %v, %v; want false and %v", changed, err, tt.wantErr)
			}
			if after := statFile(t, p); after != before {
				t.Fatal("PatchFile changed the file although a modifier failed")
			}
			if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
				t.Fatalf("%d entries in the bundle, want only config.json", len(ents))
			}
		})
	}
}

var errBoom = errors.New("boom")

func TestPatchFileRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(write("target.json", `{"process":{}}`), link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"invalid JSON", write("invalid.json", `{"process": {`), errAny},
		{"array document", write("array.json", `[]`), ErrNotObject},
		{"missing file", filepath.Join(dir, "absent.json"), os.ErrNotExist},
		{"folder", dir, errAny},
		{"symlink", link, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadFile(tt.path)
			changed, err := PatchFile(tt.path, archMods()...)
			if changed {
				t.Fatal("PatchFile reported a change")
			}
			checkErr(t, err, tt.wantErr)
			if after, _ := os.ReadFile(tt.path); string(after) != string(before) {
				t.Fatal("file changed")
			}
		})
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("symlink was replaced")
	}
}

func TestPatchFileWithoutModifiersDoesNotWrite(t *testing.T) {
	p := copyFixture(t, "future-fields.json", 0o644)
	before := statFile(t, p)
	if changed, err := PatchFile(p); err != nil || changed {
		t.Fatalf("PatchFile = %v, %v", changed, err)
	}
	if statFile(t, p) != before {
		t.Fatal("file rewritten")
	}
}
