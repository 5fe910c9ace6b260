package ckpt

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ioBuf is the size of copy buffers and of the output buffer: big enough
// that syscalls and hash calls are few, small enough to stay in cache.
const ioBuf = 1 << 20

// archiveWriter writes one archive (tar, optionally zstd-compressed) into
// a file and records on the way the size and sha256 of the file and of
// every member: a single pass over the data.
type archiveWriter struct {
	ctx     context.Context
	out     *writeBehind  // hashes and writes what reaches the file
	zw      *zstd.Encoder // nil for plain tar
	tw      *tar.Writer
	copyBuf []byte
	mtime   time.Time
	members []Member
}

func newArchiveWriter(ctx context.Context, f io.Writer, compression string, mtime time.Time, progress func(int64)) (*archiveWriter, error) {
	w := &archiveWriter{
		ctx:     ctx,
		copyBuf: make([]byte, ioBuf),
		mtime:   mtime.UTC().Truncate(time.Second),
	}
	w.out = newWriteBehind(f, progress)
	var tarOut io.Writer = w.out
	if compression == CompressionZstd {
		// Measured here on 32-64 MiB of random and mixed pages:
		// WithConcurrentBlocks made the encoder 3.7-4.8x slower (450-500
		// against 1850-2200 MB/s), so it is left off.
		zw, err := zstd.NewWriter(w.out,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(0), // GOMAXPROCS
			zstd.WithEncoderCRC(true))
		if err != nil {
			w.out.close()
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		w.zw, tarOut = zw, zw
	}
	w.tw = tar.NewWriter(tarOut)
	return w, nil
}

// add writes one member.
func (w *archiveWriter) add(src source) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if src.dir {
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: src.name + "/", Mode: dirPerm, ModTime: w.mtime}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("member %s: %w", src.name, err)
		}
		w.members = append(w.members, Member{Name: src.name, Type: TypeDir})
		return nil
	}
	var r io.Reader = bytes.NewReader(src.data)
	if src.data == nil {
		f, st, err := openRegular(src.path)
		if err != nil {
			return fmt.Errorf("member %s: %w", src.name, err)
		}
		defer f.Close()
		if st.Size() != src.size {
			return fmt.Errorf("member %s: %s changed size while being archived", src.name, src.path)
		}
		r = f
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: src.name, Size: src.size, Mode: filePerm, ModTime: w.mtime}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("member %s: %w", src.name, err)
	}
	sum, err := w.copyMember(r, src.size)
	if err != nil {
		return fmt.Errorf("member %s: %w", src.name, err)
	}
	w.members = append(w.members, Member{Name: src.name, Type: TypeFile, Size: src.size, SHA256: sum})
	return nil
}

// copyMember copies exactly size bytes of r into the archive and returns
// their sha256. It stops early when the context is cancelled.
func (w *archiveWriter) copyMember(r io.Reader, size int64) (string, error) {
	h := sha256.New()
	for left := size; left > 0; {
		if err := w.ctx.Err(); err != nil {
			return "", err
		}
		n, err := r.Read(w.copyBuf[:min(int64(len(w.copyBuf)), left)])
		if n > 0 {
			h.Write(w.copyBuf[:n])
			if _, werr := w.tw.Write(w.copyBuf[:n]); werr != nil {
				return "", werr
			}
			left -= int64(n)
		}
		if err == io.EOF && left > 0 {
			return "", fmt.Errorf("source shrank while being archived (%d bytes missing)", left)
		}
		if err != nil && err != io.EOF {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// finish ends the tar stream and the compression, waits until everything
// is written, and returns the archive's size and CRC32C.
func (w *archiveWriter) finish() (int64, string, error) {
	err := w.tw.Close()
	if w.zw != nil {
		if zerr := w.zw.Close(); err == nil {
			err = zerr
		}
		w.zw = nil
	}
	n, sum, werr := w.out.close()
	if err == nil {
		err = werr
	}
	if err != nil {
		return 0, "", fmt.Errorf("finish archive: %w", err)
	}
	return n, sum, nil
}

// abort stops the archive after a failure: output still buffered is
// dropped, and the goroutines are released.
func (w *archiveWriter) abort() {
	w.out.abort()
	if w.zw != nil {
		w.zw.Close()
		w.zw = nil
	}
	w.out.close()
}
