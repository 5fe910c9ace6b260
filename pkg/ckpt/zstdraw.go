package ckpt

import "encoding/binary"

// Stored zstd frames. An archive compressed with zstd is a sequence of
// zstd frames, which every decoder reads as one stream. Where compressing
// cannot help (pages of random or already compressed memory) or where
// bytes must be patched after they were written (a tar header whose size
// was not known yet), ARCH writes frames of raw blocks: the bytes
// themselves behind a few bytes of framing, at the cost of a copy. Their
// size depends only on the length of their content, so a header written
// as a placeholder can be overwritten in place.

const (
	zstdMagic       = 0xFD2FB528
	zstdMaxRawBlock = 128 << 10 // a block's largest size
)

// rawFrameSize is the size of the stored frame of n bytes of content.
func rawFrameSize(n int) int {
	blocks := max((n+zstdMaxRawBlock-1)/zstdMaxRawBlock, 1)
	return 4 + 1 + fcsFieldSize(n) + 3*blocks + n
}

// fcsFieldSize is the size of the Frame_Content_Size field of a
// single-segment frame of n bytes (RFC 8878 3.1.1.1.4).
func fcsFieldSize(n int) int {
	switch {
	case n < 256:
		return 1
	case n < 65536+256:
		return 2
	case int64(n) < 1<<32:
		return 4
	}
	return 8
}

// appendRawFrame appends the stored frame of p to dst: a single-segment
// frame (its window is its content) with the content size, no checksum
// (the archive's CRC32C and the members' sha256 cover it), and p in raw
// blocks of at most 128 KiB.
func appendRawFrame(dst, p []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, zstdMagic)
	const singleSegment = 1 << 5
	switch fcsFieldSize(len(p)) {
	case 1:
		dst = append(dst, singleSegment, byte(len(p)))
	case 2:
		dst = append(dst, 1<<6|singleSegment)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p)-256))
	case 4:
		dst = append(dst, 2<<6|singleSegment)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
	default:
		dst = append(dst, 3<<6|singleSegment)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(p)))
	}
	for first := true; first || len(p) > 0; first = false {
		n := min(len(p), zstdMaxRawBlock)
		hdr := uint32(n) << 3 // Block_Type 0: raw
		if n == len(p) {
			hdr |= 1 // Last_Block
		}
		dst = append(dst, byte(hdr), byte(hdr>>8), byte(hdr>>16))
		dst, p = append(dst, p[:n]...), p[n:]
	}
	return dst
}
