package layer

import (
	"archive/tar"
	"bytes"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sparseKind tells which GNU sparse form a header read by archive/tar is
// in, with the same rules archive/tar uses.
type sparseKind int

const (
	notSparse sparseKind = iota
	sparseOldGNU
	sparsePAX0 // 0.0 and 0.1: the map is in the GNU.sparse.map record
	sparsePAX1 // 1.0: the map precedes the data
)

func sparseKindOf(h *tar.Header) sparseKind {
	if h.Typeflag == tar.TypeGNUSparse {
		return sparseOldGNU
	}
	major, minor := h.PAXRecords["GNU.sparse.major"], h.PAXRecords["GNU.sparse.minor"]
	switch {
	case major == "0" && (minor == "0" || minor == "1"):
		return sparsePAX0
	case major == "1" && minor == "0":
		return sparsePAX1
	case major != "" || minor != "":
		return notSparse
	case h.PAXRecords["GNU.sparse.map"] != "":
		return sparsePAX0
	}
	return notSparse
}

// sparseExtents returns the data regions of a sparse entry that
// archive/tar just returned, when they can be known without expanding the
// holes: from the GNU.sparse.map record (0.x), or by reading back the map
// archive/tar consumed right before the data (1.0). ok is false otherwise.
func (r *archReader) sparseExtents(h *tar.Header, kind sparseKind) ([]extent, bool) {
	var exts []extent
	switch kind {
	case sparsePAX0:
		nums := strings.Split(h.PAXRecords["GNU.sparse.map"], ",")
		if len(nums)%2 != 0 {
			return nil, false
		}
		for i := 0; i < len(nums); i += 2 {
			off, err1 := strconv.ParseInt(nums[i], 10, 64)
			n, err2 := strconv.ParseInt(nums[i+1], 10, 64)
			if err1 != nil || err2 != nil {
				return nil, false
			}
			exts = append(exts, extent{off, n})
		}
	case sparsePAX1:
		var ok bool
		if exts, ok = r.pax1Map(r.off); !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	if !validExtents(exts, h.Size) {
		return nil, false
	}
	var data int64
	for _, e := range exts {
		data += e.len
	}
	if r.off+data > r.size {
		return nil, false
	}
	return exts, true
}

func validExtents(exts []extent, size int64) bool {
	var end int64
	for _, e := range exts {
		if e.off < 0 || e.len < 0 || e.off > size-e.len || e.off < end {
			return false
		}
		end = e.off + e.len
	}
	return true
}

// maxMapBlocks bounds the PAX 1.0 map Apply reads back (1 MiB, some
// 40,000 regions); larger maps go the slow way.
const maxMapBlocks = 2048

// pax1Map reads back the PAX 1.0 sparse map that ends at end: a run of
// 512-byte blocks right after the entry's ustar header. It finds the
// header by its checksum and takes the map that fills exactly the blocks
// between the two.
func (r *archReader) pax1Map(end int64) ([]extent, bool) {
	start := max(end-512*(maxMapBlocks+1), 0)
	buf := make([]byte, end-start)
	if preadFull(r.fd, buf, start) != nil {
		return nil, false
	}
	for k := int64(1); k <= maxMapBlocks; k++ {
		hdr := int64(len(buf)) - 512*(k+1)
		if hdr < 0 {
			break
		}
		if !validUstarBlock(buf[hdr : hdr+512]) {
			continue
		}
		if exts, ok := parsePAX1Map(buf[hdr+512:], k); ok {
			return exts, true
		}
	}
	return nil, false
}

// parsePAX1Map parses "N\n" then N pairs "offset\nlength\n"; the last
// newline must fall in the last of the k blocks, as archive/tar stops
// reading there.
func parsePAX1Map(b []byte, k int64) ([]extent, bool) {
	var nums []int64
	want := int64(-1)
	pos := 0
	for want < 0 || int64(len(nums)) < want {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return nil, false
		}
		v, err := strconv.ParseInt(string(b[pos:pos+i]), 10, 64)
		if err != nil || v < 0 {
			return nil, false
		}
		pos += i + 1
		if want < 0 {
			if v > int64(len(b)) {
				return nil, false
			}
			want = 2 * v
			continue
		}
		nums = append(nums, v)
	}
	if int64(pos-1)/512 != k-1 {
		return nil, false
	}
	exts := make([]extent, 0, len(nums)/2)
	for i := 0; i < len(nums); i += 2 {
		exts = append(exts, extent{nums[i], nums[i+1]})
	}
	return exts, true
}

// validUstarBlock checks a block's magic and checksum.
func validUstarBlock(b []byte) bool {
	if !bytes.Equal(b[257:262], []byte("ustar")) {
		return false
	}
	field := strings.TrimRight(strings.TrimLeft(string(b[148:156]), " "), " \x00")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var sum int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}

// writeSparse copies the data regions of a sparse entry from the archive
// at data into fd at their offsets, leaving holes, and sets the size.
func (a *applier) writeSparse(fd int, exts []extent, size int64) error {
	data := a.arch.off
	for _, e := range exts {
		if err := a.cp.copyAt(fd, e.off, a.arch.fd, data, e.len); err != nil {
			return err
		}
		data += e.len
	}
	return unix.Ftruncate(fd, size)
}
