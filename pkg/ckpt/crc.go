package ckpt

import (
	"encoding/hex"
	"hash/crc32"
)

// castagnoli is the CRC32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cHex is the archive checksum as the manifest spells it.
func crc32cHex(b []byte) string {
	return crc32cString(crc32.Checksum(b, castagnoli))
}

func crc32cString(v uint32) string {
	sum := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	return hex.EncodeToString(sum[:])
}

// A CRC is linear over GF(2): for two messages of the same length,
// crc(a) ^ crc(b) is the CRC without its pre- and post-inversion ("raw")
// of a ^ b. An archive whose header bytes are patched after the data that
// follows them was hashed therefore gets its final CRC from the CRC of
// what was written, xor the raw CRC of the patch's difference followed by
// as many zero bytes as the file has after it. rawCRC32C and
// crc32cAppendZeros compute those two terms; see patchCRC32C.

// castagnoliReflected is the CRC32C polynomial with its bits reversed, as
// the table-driven CRC uses it (bit 31 is the coefficient of x^0).
const castagnoliReflected = 0x82f63b78

// rawCRC32C is the CRC of p from state 0, without the inversions.
func rawCRC32C(p []byte) uint32 {
	return ^crc32.Update(^uint32(0), castagnoli, p)
}

// crc32cAppendZeros returns the raw CRC state s advanced over n zero
// bytes: s·x^(8n) modulo the polynomial, in O(log n) multiplications.
func crc32cAppendZeros(s uint32, n int64) uint32 {
	return gf2MulMod(s, xPow8n(n))
}

// xPow8n is x^(8n) modulo the polynomial, by repeated squaring of x^8.
func xPow8n(n int64) uint32 {
	result := uint32(1) << 31 // x^0
	base := uint32(1) << 23   // x^8
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			result = gf2MulMod(result, base)
		}
		base = gf2MulMod(base, base)
	}
	return result
}

// gf2MulMod multiplies a and b, reflected polynomials over GF(2), modulo
// the CRC32C polynomial: for each coefficient of a, from x^0 up, b is
// added when it is set, and b is multiplied by x (a shift in reflected
// order, reduced by the polynomial when x^32 appears).
func gf2MulMod(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReflected
		} else {
			b >>= 1
		}
	}
	return p
}

// patchCRC32C returns the CRC32C of a file of size bytes whose CRC was sum
// when it held old at offset off, now that it holds repl there instead
// (same length).
func patchCRC32C(sum uint32, size, off int64, old, repl []byte) uint32 {
	diff := make([]byte, len(old))
	for i := range old {
		diff[i] = old[i] ^ repl[i]
	}
	after := size - off - int64(len(old))
	return sum ^ crc32cAppendZeros(rawCRC32C(diff), after)
}
