package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// tarOut writes a tar stream to a file: headers and small contents go
// through a large buffer, bigger contents are copied by the kernel
// straight from the source descriptor into the archive. (Copying several
// files into the archive at once does not pay: writes to one file take
// its inode lock.)
type tarOut struct {
	fd    int
	buf   []byte
	total int64 // bytes of the archive so far, buffered ones included
	cp    copier
	enc   bytes.Buffer
}

const tarOutBuf = 1 << 20

func newTarOut(f *os.File) *tarOut {
	return &tarOut{fd: int(f.Fd()), buf: make([]byte, 0, tarOutBuf)}
}

func (o *tarOut) write(p []byte) error {
	if len(o.buf)+len(p) > cap(o.buf) {
		if err := o.flush(); err != nil {
			return err
		}
		if len(p) > cap(o.buf) {
			o.total += int64(len(p))
			return writeAll(o.fd, p)
		}
	}
	o.buf = append(o.buf, p...)
	o.total += int64(len(p))
	return nil
}

func (o *tarOut) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	err := writeAll(o.fd, o.buf)
	o.buf = o.buf[:0]
	return err
}

// pad ends an entry's data at a 512-byte boundary.
func (o *tarOut) pad() error {
	return o.write(zeroPage[:blockPad(o.total)])
}

// copyFrom appends n bytes of the file fd from offset off.
func (o *tarOut) copyFrom(fd int, off, n int64) error {
	if err := o.flush(); err != nil {
		return err
	}
	if err := o.cp.copyAt(o.fd, -1, fd, off, n); err != nil {
		return err
	}
	o.total += n
	return nil
}

// header encodes h with archive/tar (PAX where needed) into the stream.
func (o *tarOut) header(h *tar.Header) error {
	o.enc.Reset()
	if err := tar.NewWriter(&o.enc).WriteHeader(h); err != nil {
		return fmt.Errorf("tar header for %s: %w", h.Name, err)
	}
	return o.write(o.enc.Bytes())
}

// close writes the two zero blocks that end an archive and flushes.
func (o *tarOut) close() error {
	if err := o.write(make([]byte, 1024)); err != nil {
		return err
	}
	return o.flush()
}

// sparseHeader writes the headers of a sparse file in PAX format 1.0, the
// form GNU tar and Go's archive/tar read: a PAX header carrying
// GNU.sparse.{major,minor,name,realsize}, then a ustar header named
// GNUSparseFile.0/<base> whose data is the sparse map followed by the data
// regions. archive/tar cannot write these records, so they are built here.
// It returns the map block to write before the data.
func (o *tarOut) sparseHeader(h *tar.Header, exts []extent) error {
	sm, data := sparseMap(exts, h.Size)
	stored := int64(len(sm)) + data
	recs := map[string]string{
		"GNU.sparse.major":    "1",
		"GNU.sparse.minor":    "0",
		"GNU.sparse.name":     h.Name,
		"GNU.sparse.realsize": strconv.FormatInt(h.Size, 10),
		"mtime":               formatPAXTime(h.ModTime.Unix(), int64(h.ModTime.Nanosecond())),
	}
	for k, v := range h.PAXRecords {
		recs[k] = v
	}
	uid, gid := int64(h.Uid), int64(h.Gid)
	if uid > 07777777 {
		recs["uid"], uid = strconv.FormatInt(uid, 10), 0
	}
	if gid > 07777777 {
		recs["gid"], gid = strconv.FormatInt(gid, 10), 0
	}
	sizeField := stored
	if stored > 077777777777 {
		recs["size"], sizeField = strconv.FormatInt(stored, 10), 0
	}
	var pax []byte
	for _, k := range sortedKeys(recs) {
		pax = appendPAXRecord(pax, k, recs[k])
	}
	base := path.Base(h.Name)
	if len(base) > 80 {
		base = base[:80]
	}
	mtime := max(h.ModTime.Unix(), 0)
	if mtime > 077777777777 {
		mtime = 0
	}
	xh := ustarBlock("PaxHeaders.0/"+base, 0o644, 0, 0, int64(len(pax)), mtime, tar.TypeXHeader)
	if err := o.write(xh[:]); err != nil {
		return err
	}
	if err := o.write(pax); err != nil {
		return err
	}
	if err := o.pad(); err != nil {
		return err
	}
	mh := ustarBlock("GNUSparseFile.0/"+base, h.Mode&07777, uid, gid, sizeField, mtime, tar.TypeReg)
	if err := o.write(mh[:]); err != nil {
		return err
	}
	return o.write(sm)
}

// ustarBlock encodes one 512-byte ustar header; every value must fit its
// field (callers move what does not into PAX records).
func ustarBlock(name string, mode, uid, gid, size, mtime int64, typ byte) [512]byte {
	var b [512]byte
	copy(b[0:100], name)
	octal(b[100:108], mode)
	octal(b[108:116], uid)
	octal(b[116:124], gid)
	octal(b[124:136], size)
	octal(b[136:148], mtime)
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	octal(b[329:337], 0)
	octal(b[337:345], 0)
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	s := strconv.FormatInt(sum, 8)
	for len(s) < 6 {
		s = "0" + s
	}
	copy(b[148:], s)
	b[154], b[155] = 0, ' '
	return b
}

// octal writes v as zero-padded octal digits followed by a NUL.
func octal(field []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	n := len(field) - 1
	for len(s) < n {
		s = "0" + s
	}
	copy(field, s[len(s)-n:])
	field[n] = 0
}

// appendPAXRecord formats "<len> <key>=<value>\n", where len counts the
// whole record including its own digits.
func appendPAXRecord(b []byte, k, v string) []byte {
	size := len(k) + len(v) + 3
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size {
		rec = strconv.Itoa(len(rec)) + " " + k + "=" + v + "\n"
	}
	return append(b, rec...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func formatPAXTime(sec, nsec int64) string {
	if nsec == 0 {
		return strconv.FormatInt(sec, 10)
	}
	s := strconv.FormatInt(nsec, 10)
	for len(s) < 9 {
		s = "0" + s
	}
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if sec < 0 {
		// negative times with fractions are rare; keep whole seconds
		return strconv.FormatInt(sec, 10)
	}
	return strconv.FormatInt(sec, 10) + "." + s
}

func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		p = p[n:]
	}
	return nil
}

func preadFull(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pread(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("read: file shrank while being captured")
		}
		b = b[n:]
		off += int64(n)
	}
	return nil
}
