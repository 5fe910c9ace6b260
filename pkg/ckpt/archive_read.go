package ckpt

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Decoder bounds: our encoder uses windows of a few MiB, so anything that
// asks for more is not ours.
const (
	maxZstdWindow = 64 << 20
	maxTrailing   = 1 << 20 // decompressed bytes tolerated after the tar end
)

// sink receives the members of an archive as they are read and checked.
type sink interface {
	dir(m *Member) error
	// file returns where the content of m goes.
	file(m *Member) (io.Writer, error)
	// fileDone is called when the content of m has been written and checked.
	fileDone(m *Member) error
}

// reader streams one archive against its manifest.
type reader struct {
	ctx context.Context
	m   *Manifest
	raw *prefetcher // the archive file, hashed as it is read
	dec *zstd.Decoder
	tr  *tar.Reader
	buf []byte
	idx map[string]int // member name -> position
}

// read streams the image's archive once, checks it against the manifest
// (whole-file size and sha256; every member present, in order, of the right
// type, size and sha256; nothing else; dump.log ends in success) and hands
// each member to sk (nil: check only). Damage is reported as an error
// wrapping ErrCorrupt that names the member; I/O errors and ctx errors are
// returned as they are.
func (img *Image) read(ctx context.Context, sk sink) error {
	if img.f == nil {
		return fmt.Errorf("image %s of %s: closed", img.ID(), img.Key)
	}
	m := img.Manifest
	if err := m.check(); err != nil {
		return err
	}
	st, err := img.f.Stat()
	if err != nil {
		return fmt.Errorf("archive %s: %w", img.path, err)
	}
	if err := checkArchiveSize(st.Size(), m.Archive.Size); err != nil {
		return err
	}
	r := &reader{
		ctx: ctx,
		m:   m,
		raw: newPrefetcher(io.NewSectionReader(img.f, 0, m.Archive.Size), bufSize(m.Archive.Size)),
		buf: make([]byte, bufSize(m.largestFile())),
		idx: make(map[string]int, len(m.Members)),
	}
	defer r.raw.result() // after the decoder is closed: it may be reading
	for i, mem := range m.Members {
		r.idx[mem.Name] = i
	}
	var in io.Reader = r.raw
	if m.Archive.Compression == CompressionZstd {
		r.dec, err = zstd.NewReader(r.raw, zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderConcurrency(0))
		if err != nil {
			return fmt.Errorf("zstd decoder: %w", err)
		}
		defer r.dec.Close()
		in = r.dec
	}
	r.tr = tar.NewReader(in)
	if err := r.members(sk); err != nil {
		return err
	}
	return r.finish()
}

// bufSize is the size of a buffer for n bytes of data: ioBuf, or less for
// small images, which are common and should not cost megabytes.
func bufSize(n int64) int {
	return int(min(max(n, 4096), ioBuf))
}

// checkArchiveSize compares the archive file's size with the manifest's.
func checkArchiveSize(have, want int64) error {
	switch {
	case have < want:
		return fmt.Errorf("%w: archive truncated: %d of %d bytes", ErrCorrupt, have, want)
	case have > want:
		return fmt.Errorf("%w: archive is %d bytes, manifest says %d", ErrCorrupt, have, want)
	}
	return nil
}

func (r *reader) members(sk sink) error {
	for i := range r.m.Members {
		want := &r.m.Members[i]
		hdr, err := r.tr.Next()
		if err == io.EOF {
			return fmt.Errorf("%w: member %s missing", ErrCorrupt, want.Name)
		}
		if err != nil {
			return r.damaged(err, "before member "+want.Name)
		}
		if err := r.checkHeader(hdr, i); err != nil {
			return err
		}
		if want.Type == TypeDir {
			if sk != nil {
				if err := sk.dir(want); err != nil {
					return err
				}
			}
			continue
		}
		if err := r.copyFile(want, sk); err != nil {
			return err
		}
	}
	return nil
}

// checkHeader checks that hdr is the i-th member of the manifest.
func (r *reader) checkHeader(hdr *tar.Header, i int) error {
	want := &r.m.Members[i]
	name := hdr.Name
	if hdr.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if name != want.Name {
		j, known := r.idx[name]
		switch {
		case !known:
			return fmt.Errorf("%w: unexpected member %s (not in the manifest)", ErrCorrupt, echo(hdr.Name))
		case j < i:
			return fmt.Errorf("%w: member %s appears twice", ErrCorrupt, name)
		default:
			return fmt.Errorf("%w: member %s missing", ErrCorrupt, want.Name)
		}
	}
	var typ string
	switch hdr.Typeflag {
	case tar.TypeReg:
		typ = TypeFile
	case tar.TypeDir:
		typ = TypeDir
	default:
		return fmt.Errorf("%w: member %s: tar entry type %q is not allowed", ErrCorrupt, want.Name, hdr.Typeflag)
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return fmt.Errorf("%w: member %s: sparse entries are not allowed", ErrCorrupt, want.Name)
		}
	}
	switch {
	case typ != want.Type:
		return fmt.Errorf("%w: member %s: is a %s, the manifest says %s", ErrCorrupt, want.Name, typ, want.Type)
	case typ == TypeFile && hdr.Size != want.Size:
		return fmt.Errorf("%w: member %s: size %d, the manifest says %d", ErrCorrupt, want.Name, hdr.Size, want.Size)
	case typ == TypeDir && hdr.Size != 0:
		return fmt.Errorf("%w: member %s: a folder entry with %d bytes of data", ErrCorrupt, want.Name, hdr.Size)
	}
	return nil
}

// copyFile reads the current member's content, hands it to sk and checks
// its sha256 (and for dump.log, CRIU's success line).
func (r *reader) copyFile(want *Member, sk sink) error {
	var w io.Writer
	if sk != nil {
		var err error
		if w, err = sk.file(want); err != nil {
			return err
		}
	}
	h := sha256.New()
	var tail *tailWriter
	if want.Name == memberDumpLog {
		tail = &tailWriter{}
	}
	for left := want.Size; left > 0; {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		n, err := r.tr.Read(r.buf[:min(int64(len(r.buf)), left)])
		if n > 0 {
			chunk := r.buf[:n]
			h.Write(chunk)
			if tail != nil {
				tail.Write(chunk)
			}
			if w != nil {
				if _, werr := w.Write(chunk); werr != nil {
					return fmt.Errorf("member %s: write: %w", want.Name, werr)
				}
			}
			left -= int64(n)
		}
		if err != nil && (err != io.EOF || left > 0) {
			return r.damaged(err, "in member "+want.Name)
		}
	}
	if hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("%w: member %s: sha256 mismatch", ErrCorrupt, want.Name)
	}
	if tail != nil {
		if err := checkDumpLog(tail.b); err != nil {
			return fmt.Errorf("%w: member %s: %w", ErrCorrupt, want.Name, err)
		}
	}
	if sk != nil {
		return sk.fileDone(want)
	}
	return nil
}

// finish checks that nothing follows the last member and that the whole
// file has the manifest's size and CRC32C.
func (r *reader) finish() error {
	hdr, err := r.tr.Next()
	if err == nil {
		name := strings.TrimSuffix(hdr.Name, "/")
		if _, known := r.idx[name]; known {
			return fmt.Errorf("%w: member %s appears twice", ErrCorrupt, name)
		}
		return fmt.Errorf("%w: unexpected member %s (not in the manifest)", ErrCorrupt, echo(hdr.Name))
	}
	if err != io.EOF {
		return r.damaged(err, "after the last member")
	}
	if r.dec != nil {
		n, err := io.Copy(io.Discard, io.LimitReader(r.dec, maxTrailing+1))
		if err != nil {
			return r.damaged(err, "after the end of the tar stream")
		}
		if n > maxTrailing {
			return fmt.Errorf("%w: more than %d bytes after the end of the tar stream", ErrCorrupt, maxTrailing)
		}
		r.dec.Close() // waits for the decoder's goroutines: r.raw is ours again
	}
	if _, err := io.Copy(io.Discard, r.raw); err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	n, sum := r.raw.result()
	if err := checkArchiveSize(n, r.m.Archive.Size); err != nil {
		return err
	}
	if sum != r.m.Archive.CRC32C {
		return fmt.Errorf("%w: archive crc32c mismatch", ErrCorrupt)
	}
	return nil
}

// damaged turns an error of the tar or zstd reader into the right error:
// the context's, the file's read error, or corruption.
func (r *reader) damaged(err error, where string) error {
	if r.dec != nil {
		r.dec.Close() // stop the decoder before looking at r.raw
	}
	switch {
	case r.ctx.Err() != nil:
		return r.ctx.Err()
	case r.raw.err != nil:
		return fmt.Errorf("read archive: %w", r.raw.err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: archive truncated %s", ErrCorrupt, where)
	}
	return fmt.Errorf("%w: archive damaged %s: %v", ErrCorrupt, where, err)
}
