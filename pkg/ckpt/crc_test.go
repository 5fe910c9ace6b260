package ckpt

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// A patched file's CRC computed from the CRC before the patch must equal
// the CRC of the patched bytes, wherever the patch lies.
func TestPatchCRC32CMatchesRecomputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		size := 1 + rng.IntN(1<<16)
		file := make([]byte, size)
		for j := range file {
			file[j] = byte(rng.Uint32())
		}
		n := 1 + rng.IntN(min(size, 600))
		off := rng.IntN(size - n + 1)
		old := bytes.Clone(file[off : off+n])
		before := crc32.Checksum(file, castagnoli)
		repl := make([]byte, n)
		for j := range repl {
			repl[j] = byte(rng.Uint32())
		}
		copy(file[off:], repl)
		want := crc32.Checksum(file, castagnoli)
		if got := patchCRC32C(before, int64(size), int64(off), old, repl); got != want {
			t.Fatalf("case %d (size %d, patch %d at %d): got %08x, want %08x", i, size, n, off, got, want)
		}
	}
}

func TestCRC32CAppendZerosMatchesUpdate(t *testing.T) {
	for _, n := range []int64{0, 1, 7, 8, 511, 512, 4096, 1<<20 + 3} {
		s := uint32(0xdeadbeef)
		want := ^crc32.Update(^s, castagnoli, make([]byte, n))
		if got := crc32cAppendZeros(s, n); got != want {
			t.Fatalf("n=%d: got %08x, want %08x", n, got, want)
		}
	}
}
