package layer

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// copier moves file data between descriptors inside the kernel when it
// can: copy_file_range (same filesystem; a reflink where the filesystem
// has them), else sendfile (any two files), else pread/pwrite through a
// buffer. It remembers what failed so later copies go straight to what
// works.
type copier struct {
	noCFR      bool
	noSendfile bool
	buf        []byte
}

// copyAt copies n bytes from src at srcOff to dst at dstOff (dstOff < 0:
// at dst's current position, which then advances).
func (c *copier) copyAt(dst int, dstOff int64, src int, srcOff, n int64) error {
	for n > 0 {
		chunk := int(min(n, 1<<30))
		var w int
		var err error
		switch {
		case !c.noCFR:
			var dp *int64
			if dstOff >= 0 {
				do := dstOff
				dp = &do
			}
			so := srcOff
			w, err = unix.CopyFileRange(src, &so, dst, dp, chunk, 0)
			if err == unix.EXDEV || err == unix.EINVAL || err == unix.ENOSYS ||
				err == unix.EOPNOTSUPP || err == unix.EBADF || err == unix.EPERM ||
				(err == nil && w == 0) {
				c.noCFR = true
				continue
			}
		case !c.noSendfile:
			if dstOff >= 0 {
				if _, err := unix.Seek(dst, dstOff, 0); err != nil {
					return fmt.Errorf("copy data: %w", err)
				}
			}
			so := srcOff
			w, err = unix.Sendfile(dst, src, &so, chunk)
			if err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP ||
				(err == nil && w == 0) {
				c.noSendfile = true
				continue
			}
		default:
			w, err = c.copyBuffered(dst, dstOff, src, srcOff, chunk)
		}
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return fmt.Errorf("copy data: %w", err)
		}
		if w == 0 {
			return fmt.Errorf("copy data: source ended %d bytes early", n)
		}
		n -= int64(w)
		srcOff += int64(w)
		if dstOff >= 0 {
			dstOff += int64(w)
		}
	}
	return nil
}

func (c *copier) copyBuffered(dst int, dstOff int64, src int, srcOff int64, n int) (int, error) {
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	b := c.buf[:min(n, len(c.buf))]
	r, err := unix.Pread(src, b, srcOff)
	if err != nil || r == 0 {
		return r, err
	}
	if dstOff >= 0 {
		return r, pwriteAll(dst, b[:r], dstOff)
	}
	for p := b[:r]; len(p) > 0; {
		w, err := unix.Write(dst, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		p = p[w:]
	}
	return r, nil
}
