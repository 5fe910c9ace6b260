package layer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// archReader reads an uncompressed archive file with pread through a
// read-ahead window and seeks without I/O, so that archive/tar skips file
// contents for free and Apply knows where each entry's data starts (to
// copy it with the kernel straight from the archive).
type archReader struct {
	fd     int
	size   int64
	off    int64
	win    []byte
	winOff int64
}

const archWindow = 256 << 10

func (r *archReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.off >= r.winOff && r.off < r.winOff+int64(len(r.win)) {
		n := copy(p, r.win[r.off-r.winOff:])
		r.off += int64(n)
		return n, nil
	}
	if len(p) >= archWindow {
		n, err := unix.Pread(r.fd, p[:min(int64(len(p)), r.size-r.off)], r.off)
		if err != nil {
			return 0, fmt.Errorf("read archive: %w", err)
		}
		if n == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		r.off += int64(n)
		return n, nil
	}
	if r.win == nil {
		r.win = make([]byte, archWindow)
	}
	n, err := unix.Pread(r.fd, r.win[:cap(r.win)], r.off)
	if err != nil {
		return 0, fmt.Errorf("read archive: %w", err)
	}
	if n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	r.win, r.winOff = r.win[:n], r.off
	return r.Read(p)
}

func (r *archReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.off
	case io.SeekEnd:
		off += r.size
	default:
		return 0, errors.New("archReader: bad whence")
	}
	if off < 0 {
		return 0, errors.New("archReader: negative offset")
	}
	r.off = off
	return off, nil
}

// openArchive opens inDir's rootfs-diff.tar. An uncompressed file comes
// back as an archReader (fast path); a gzip or zstd one as a plain stream.
func openArchive(f *os.File) (io.Reader, *archReader, func(), error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	var magic [4]byte
	n, _ := f.ReadAt(magic[:], 0)
	switch {
	case n >= 2 && bytes.Equal(magic[:2], []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil, func() { zr.Close() }, nil
	case n == 4 && bytes.Equal(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("zstd: %w", err)
		}
		return zr, nil, zr.Close, nil
	}
	ar := &archReader{fd: int(f.Fd()), size: st.Size()}
	return ar, ar, func() {}, nil
}
