package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileReplacesContentAndMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %v", got, st.Mode().Perm())
	}
}

func TestWriteFailureLeavesOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o644)
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error { w.Write([]byte("half")); return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	got, _ := os.ReadFile(p)
	ents, _ := os.ReadDir(dir)
	if string(got) != "old" || len(ents) != 1 {
		t.Fatalf("content %q, %d entries", got, len(ents))
	}
}

func TestReplaceKeepsModeAndOwner(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(p, []byte("old"), 0o640)
	if os.Geteuid() == 0 {
		os.Chown(p, 12345, 23456)
	}
	old, _ := os.Stat(p)
	if err := Replace(p, []byte("new"), old); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	got, _ := os.ReadFile(p)
	sys := st.Sys().(*syscall.Stat_t)
	osys := old.Sys().(*syscall.Stat_t)
	if string(got) != "new" || st.Mode().Perm() != 0o640 || sys.Uid != osys.Uid || sys.Gid != osys.Gid {
		t.Fatalf("content %q mode %v owner %d:%d", got, st.Mode().Perm(), sys.Uid, sys.Gid)
	}
}
