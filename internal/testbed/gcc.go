package testbed

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// CompileStaticC compiles one C source with `gcc -static -O2` and returns the
// binary. The result is cached by a hash of the source and gcc's version.
func CompileStaticC(t testing.TB, name string, src []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ver, err := exec.CommandContext(ctx, "gcc", "--version").Output()
	if err != nil {
		t.Fatalf("testbed: gcc --version: %v (apt-get install gcc libc6-dev)", err)
	}
	key := fmt.Sprintf("%x", sha256.Sum256(append(append([]byte("static-O2\x00"), ver...), src...)))
	out := filepath.Join(CacheDir(t), "bin-"+name+"-"+key[:24])
	if bin, err := os.ReadFile(out); err == nil {
		return bin
	}
	dir := t.TempDir()
	srcPath := filepath.Join(dir, name+".c")
	if err := os.WriteFile(srcPath, src, 0o644); err != nil {
		t.Fatal(err)
	}
	binPath := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "gcc", "-static", "-O2", "-o", binPath, srcPath)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testbed: gcc -static -O2 %s: %v\n%s", name, err, b)
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(out, bin, 0o755); err != nil {
		t.Fatalf("testbed: caching %s: %v", name, err)
	}
	return bin
}
