package ckpt

import (
	"encoding/hex"
	"hash/crc32"
)

// castagnoli is the CRC32C table (hardware-accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cHex is the archive checksum as the manifest spells it.
func crc32cHex(b []byte) string {
	var sum [4]byte
	v := crc32.Checksum(b, castagnoli)
	sum[0], sum[1], sum[2], sum[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return hex.EncodeToString(sum[:])
}
