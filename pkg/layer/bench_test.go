package layer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The benchmarks below are driven by hack/bench-layer.sh, which builds the
// trees, mounts the overlays and compares with GNU tar; run alone they
// skip.

// BenchmarkCapture captures ARCH_BENCH_UPPER (an overlay's upperdir;
// ARCH_BENCH_LOWER and ARCH_BENCH_MERGED optional) into ARCH_BENCH_OUT.
func BenchmarkCapture(b *testing.B) {
	upper, out := os.Getenv("ARCH_BENCH_UPPER"), os.Getenv("ARCH_BENCH_OUT")
	if upper == "" || out == "" {
		b.Skip("set ARCH_BENCH_UPPER and ARCH_BENCH_OUT (see hack/bench-layer.sh)")
	}
	ov := &Overlay{Upper: upper, Mountpoint: os.Getenv("ARCH_BENCH_MERGED")}
	if l := os.Getenv("ARCH_BENCH_LOWER"); l != "" {
		ov.Lower = strings.Split(l, ":")
	}
	for b.Loop() {
		if _, err := Capture(context.Background(), ov, out, CaptureOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply applies the checkpoint folder ARCH_BENCH_IN to the
// mounted rootfs ARCH_BENCH_ROOTFS and commits. Run it with
// -test.benchtime=1x on a fresh rootfs each time.
func BenchmarkApply(b *testing.B) {
	rootfs, in := os.Getenv("ARCH_BENCH_ROOTFS"), os.Getenv("ARCH_BENCH_IN")
	if rootfs == "" || in == "" {
		b.Skip("set ARCH_BENCH_ROOTFS and ARCH_BENCH_IN (see hack/bench-layer.sh)")
	}
	for b.Loop() {
		j, err := Apply(context.Background(), rootfs, in, ApplyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := j.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGenerateBenchTree fills ARCH_BENCH_GEN with the benchmark's tree:
// ARCH_BENCH_SMALL files of 1-64 KiB in 100 folders, then 4 large files
// up to ARCH_BENCH_MB MiB in all, from a fixed seed.
func TestGenerateBenchTree(t *testing.T) {
	root := os.Getenv("ARCH_BENCH_GEN")
	if root == "" {
		t.Skip("set ARCH_BENCH_GEN (see hack/bench-layer.sh)")
	}
	small, total := envInt("ARCH_BENCH_SMALL", 10000), int64(envInt("ARCH_BENCH_MB", 1024))<<20
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64<<10)
	var written int64
	for i := 0; i < small; i++ {
		n := 1<<10 + rng.IntN(63<<10+1)
		for j := range buf[:n] {
			buf[j] = byte(rng.Uint32())
		}
		p := filepath.Join(root, fmt.Sprintf("d%02d/sub%d/f%05d", i%100, i%3, i))
		check(t, os.MkdirAll(filepath.Dir(p), 0o755))
		check(t, os.WriteFile(p, buf[:n], 0o644))
		written += int64(n)
	}
	big := make([]byte, 1<<20)
	for j := range big {
		big[j] = byte(rng.Uint32())
	}
	per := max((total-written)/4, 0)
	for i := 0; i < 4; i++ {
		f, err := os.Create(filepath.Join(root, fmt.Sprintf("large%d.bin", i)))
		check(t, err)
		for left := per; left > 0; left -= int64(len(big)) {
			_, err := f.Write(big[:min(left, int64(len(big)))])
			check(t, err)
		}
		check(t, f.Close())
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}
