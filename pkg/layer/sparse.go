package layer

import (
	"bytes"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// extent is a data region of a sparse file.
type extent struct{ off, len int64 }

// sparseMinHole is how much of a file must be holes before it is stored in
// the sparse tar form: below that the map and the PAX records cost more
// than they save.
const sparseMinHole = 64 << 10

// dataExtents returns the data regions of the open file fd of the given
// size with SEEK_DATA/SEEK_HOLE, or ok=false when the file is not worth
// storing as sparse (no holes to speak of, or the filesystem cannot tell).
func dataExtents(fd int, size int64) (exts []extent, ok bool, err error) {
	var data int64
	for off := int64(0); off < size; {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole from here to the end
		}
		if err != nil {
			if err == unix.EINVAL || err == unix.EOPNOTSUPP {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("seek data: %w", err)
		}
		if start >= size {
			break
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, false, fmt.Errorf("seek hole: %w", err)
		}
		if end > size {
			end = size
		}
		exts = append(exts, extent{start, end - start})
		data += end - start
		off = end
	}
	if _, err := unix.Seek(fd, 0, unix.SEEK_SET); err != nil {
		return nil, false, fmt.Errorf("rewind: %w", err)
	}
	if size-data < sparseMinHole {
		return nil, false, nil
	}
	return exts, true, nil
}

// sparseMap encodes the PAX 1.0 sparse map that precedes the data of a
// sparse entry: the number of regions, then offset and length of each, one
// decimal number a line, padded with NULs to a 512-byte block. A last
// region of length 0 at the real size marks a trailing hole, as GNU tar
// writes it.
func sparseMap(exts []extent, size int64) ([]byte, int64) {
	regions := exts
	if len(exts) == 0 || exts[len(exts)-1].off+exts[len(exts)-1].len < size {
		regions = append(append([]extent(nil), exts...), extent{size, 0})
	}
	b := strconv.AppendInt(nil, int64(len(regions)), 10)
	b = append(b, '\n')
	var data int64
	for _, e := range regions {
		b = strconv.AppendInt(b, e.off, 10)
		b = append(b, '\n')
		b = strconv.AppendInt(b, e.len, 10)
		b = append(b, '\n')
		data += e.len
	}
	b = append(b, make([]byte, blockPad(int64(len(b))))...)
	return b, data
}

// blockPad is the padding that brings n to a multiple of 512.
func blockPad(n int64) int64 { return -n & 511 }

// holeWriter writes a file through an fd at increasing offsets, skipping
// runs of zero blocks so that they stay holes; finish sets the final size.
// It is the io.WriteSeeker that archive/tar's sparse reader seeks over.
type holeWriter struct {
	fd  int
	pos int64
	end int64 // highest offset reached
}

func (w *holeWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		chunk := p
		if len(chunk) > 4096 {
			chunk = chunk[:4096]
		}
		if !isZero(chunk) {
			// write this and all following non-zero chunks in one go
			j := len(chunk)
			for j < len(p) {
				k := min(j+4096, len(p))
				if isZero(p[j:k]) {
					break
				}
				j = k
			}
			if err := pwriteAll(w.fd, p[:j], w.pos); err != nil {
				return n - len(p), err
			}
			chunk = p[:j]
		}
		w.pos += int64(len(chunk))
		p = p[len(chunk):]
	}
	w.end = max(w.end, w.pos)
	return n, nil
}

func (w *holeWriter) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case 0:
		w.pos = off
	case 1:
		w.pos += off
	default:
		return 0, fmt.Errorf("holeWriter: whence %d not supported", whence)
	}
	if w.pos < 0 {
		return 0, fmt.Errorf("holeWriter: negative offset")
	}
	w.end = max(w.end, w.pos)
	return w.pos, nil
}

// finish gives the file its size (holes at the end included).
func (w *holeWriter) finish() error {
	return unix.Ftruncate(w.fd, w.end)
}

var zeroPage [4096]byte

// isZero tells whether b (at most 4096 bytes) is all zeros.
func isZero(b []byte) bool { return bytes.Equal(b, zeroPage[:len(b)]) }

func pwriteAll(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		n, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		p = p[n:]
		off += int64(n)
	}
	return nil
}
