package ckpt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchPages is the size of the pages file of the benchmarks: 256 MiB of
// memory-like data (half random, a quarter zero, a quarter text pages).
const benchPages = 256 << 20

// benchStaging builds the benchmark dump once per benchmark.
func benchStaging(b *testing.B) string {
	b.Helper()
	return makeStaging(b, stagingOpts{pages: benchPages})
}

// BenchmarkCommit measures writing a 256 MiB dump into the store.
func BenchmarkCommit(b *testing.B) {
	staging := benchStaging(b)
	for _, comp := range []string{CompressionZstd, CompressionNone} {
		b.Run(comp, func(b *testing.B) {
			s := newTestStore(b)
			key := mustKey(b, "bench/commit")
			b.SetBytes(benchPages)
			var size int64
			for b.Loop() {
				m := commit(b, s, key, staging, comp)
				size = m.Archive.Size
			}
			b.ReportMetric(float64(size)/float64(benchPages), "ratio")
		})
	}
}

// BenchmarkUnpack measures verified extraction of a 256 MiB image, next to
// the same archive extracted by tar(1) and by zstd(1) | tar(1), which
// check nothing (the archive stays in the page cache, as on a node that
// restores what it just wrote; dst is on the same filesystem).
func BenchmarkUnpack(b *testing.B) {
	staging := benchStaging(b)
	for _, comp := range []string{CompressionZstd, CompressionNone} {
		s := newTestStore(b)
		key := mustKey(b, "bench/unpack")
		commit(b, s, key, staging, comp)
		img := current(b, s, key)
		work := b.TempDir()
		run := func(name string, extract func(dst string) error) {
			b.Run(name, func(b *testing.B) {
				b.SetBytes(benchPages)
				i := 0
				for b.Loop() {
					b.StopTimer()
					dst := filepath.Join(work, "dst")
					must(b, os.RemoveAll(dst))
					i++
					b.StartTimer()
					must(b, extract(dst))
				}
			})
		}
		run(comp+"/Unpack", func(dst string) error { return img.Unpack(context.Background(), dst) })
		run(comp+"/Verify", func(string) error { return img.Verify(context.Background()) })
		if comp == CompressionNone {
			run("none/tar-xf", func(dst string) error {
				return shell(b, "mkdir "+dst+" && tar -xf "+img.ArchivePath()+" -C "+dst)
			})
		} else {
			run("zstd/zstd-d|tar-x", func(dst string) error {
				return shell(b, "mkdir "+dst+" && zstd -q -d -c "+img.ArchivePath()+" | tar -x -C "+dst)
			})
		}
	}
}

func shell(b *testing.B, script string) error {
	for _, tool := range []string{"tar", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed", tool)
		}
	}
	out, err := exec.Command("bash", "-o", "pipefail", "-c", script).CombinedOutput()
	if err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	return nil
}
