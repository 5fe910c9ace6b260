package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRecordsRoundTripAndIsolation(t *testing.T) {
	r := Records{Dir: t.TempDir()}
	rec := &Record{ID: "c1", Root: "/run/containerd/runc/default", Key: "default/c1", SkipStart: true}
	if err := r.Save(rec); err != nil {
		t.Fatal(err)
	}
	got, err := r.Load("/run/containerd/runc/default", "c1")
	if err != nil || !got.SkipStart || got.Key != "default/c1" {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	// Same id under another runc root (another namespace) is another container.
	if _, err := r.Load("/run/containerd/runc/k8s.io", "c1"); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("other root: err = %v", err)
	}
	if err := r.Remove("/run/containerd/runc/default", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load("/run/containerd/runc/default", "c1"); !errors.Is(err, ErrNoRecord) {
		t.Fatalf("after remove: err = %v", err)
	}
}

func TestRecordsRejectIDsThatEscape(t *testing.T) {
	r := Records{Dir: t.TempDir()}
	for _, id := range []string{"../x", "a/b", "..", ".", "", "a b", "x\x00"} {
		if _, err := r.Path("/run/runc", id); !errors.Is(err, ErrBadID) {
			t.Errorf("id %q: err = %v, want ErrBadID", id, err)
		}
	}
	for _, id := range []string{"c1", "a.b-c_d+e", "0123456789abcdef"} {
		if _, err := r.Path("/run/runc", id); err != nil {
			t.Errorf("id %q: %v", id, err)
		}
	}
}

func TestRecordFilesArePrivate(t *testing.T) {
	r := Records{Dir: filepath.Join(t.TempDir(), "containers")}
	r.Save(&Record{ID: "c1", Root: "/run/runc"})
	p, _ := r.Path("/run/runc", "c1")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("record mode %v, %v", st.Mode().Perm(), err)
	}
	dst, _ := os.Stat(filepath.Dir(p))
	if dst.Mode().Perm() != 0o700 {
		t.Fatalf("record folder mode %v", dst.Mode().Perm())
	}
}
