package drain

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

func TestKeyFolderIsTheStoreLayout(t *testing.T) {
	s, err := ckpt.New("/store")
	if err != nil {
		t.Fatal(err)
	}
	k, err := ckpt.ParseKey("k8s.io/ns/pod/ctr")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.KeyDir(k); got != "/store/k8s.io%2Fns%2Fpod%2Fctr" {
		t.Fatalf("KeyDir = %s", got)
	}
}

func TestWatchIncomingReportsTheNewArchiveOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "k")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".incoming-old.tar.zst")
	if err := os.WriteFile(stale, make([]byte, 9999), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []int64
	s, err := ckpt.New(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ckpt.ParseKey(filepath.Base(dir))
	if err != nil {
		t.Fatal(err)
	}
	stop := watchIncoming(func() map[string]int64 { return s.IncomingSizes(key) }, 5*time.Millisecond, func(n int64) {
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
	})
	last := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return -1
		}
		return seen[len(seen)-1]
	}
	waitFor := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for last() != want {
			if time.Now().After(deadline) {
				t.Fatalf("reported %v; waiting for %d", seen, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	f, err := os.Create(filepath.Join(dir, ".incoming-new.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 100))
	waitFor(100)
	f.Write(make([]byte, 400))
	waitFor(500)
	f.Close()
	os.Rename(f.Name(), filepath.Join(dir, "new.tar.zst"))
	waitFor(0)
	stop()
	mu.Lock()
	defer mu.Unlock()
	for _, n := range seen {
		if n == 9999 {
			t.Fatalf("the stale archive was reported: %v", seen)
		}
	}
}
