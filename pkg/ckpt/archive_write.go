package ckpt

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/zstd"
)

// ioBuf is the size of copy buffers and of the output buffer: big enough
// that syscalls and hash calls are few, small enough to stay in cache.
const ioBuf = 1 << 20

// tarBlock is the tar record unit: headers are one block, data is padded
// to a whole number of blocks.
const tarBlock = 512

// storeAfterIncompressible is how many chunks of a streamed member are
// stored without trying to compress them after one that did not compress:
// memory that does not compress (random data, compressed or encrypted
// buffers) comes in long runs, and trying costs as much as compressing.
const storeAfterIncompressible = 15

// archiveWriter writes one archive (tar, optionally zstd-compressed) into
// a file and records on the way the size and CRC32C of the file and the
// size and sha256 of every member: a single pass over the data.
//
// An archive has two parts. Members streamed while the dump runs come
// first (stream): their tar header is a placeholder until their size is
// known, and is overwritten in place at the end (patch); with zstd, each
// of their header and padding is a stored frame, so that it has a fixed
// size, and their content goes in frames of ioBuf, compressed or stored.
// The other members follow through a tar writer (add), compressed as one
// zstd stream.
type archiveWriter struct {
	ctx      context.Context
	f        *os.File
	out      *writeBehind // checksums and writes what reaches the file
	zstd     bool
	zw       *zstd.Encoder // the tar part's encoder, once add is called
	tw       *tar.Writer   // the tar part, once add is called
	chunkEnc *zstd.Encoder // compresses streamed chunks (zstd only)
	copyBuf  []byte
	frameBuf []byte
	mtime    time.Time
	members  []Member
	patches  []patch
	stats    *CommitStats
	store    int // chunks to store before trying to compress again
}

// patch is a placeholder of the file to overwrite once the stream ended.
type patch struct {
	off       int64
	old, repl []byte
}

// newArchiveWriter starts an archive in f; its stages add their times to
// stats. Its progress is reported once set on its output (setProgress).
func newArchiveWriter(ctx context.Context, f *os.File, compression string, mtime time.Time, stats *CommitStats) *archiveWriter {
	w := &archiveWriter{
		ctx:     ctx,
		f:       f,
		copyBuf: make([]byte, ioBuf),
		mtime:   mtime.UTC().Truncate(time.Second),
		stats:   stats,
		zstd:    compression == CompressionZstd,
	}
	w.out = newWriteBehind(f, stats)
	return w
}

// tarPart starts the tar part of the archive.
func (w *archiveWriter) tarPart() error {
	if w.tw != nil {
		return nil
	}
	var tarOut io.Writer = w.out
	if w.zstd {
		// Measured here on 32-64 MiB of random and mixed pages:
		// WithConcurrentBlocks made the encoder 3.7-4.8x slower (450-500
		// against 1850-2200 MB/s), so it is left off.
		zw, err := zstd.NewWriter(w.out,
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(0), // GOMAXPROCS
			zstd.WithEncoderCRC(true))
		if err != nil {
			return fmt.Errorf("zstd encoder: %w", err)
		}
		w.zw, tarOut = zw, timedWriter{zw, &w.stats.Compress}
	}
	w.tw = tar.NewWriter(tarOut)
	return nil
}

// add writes one member.
func (w *archiveWriter) add(src source) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if err := w.tarPart(); err != nil {
		return err
	}
	if src.dir {
		if err := w.tw.WriteHeader(w.dirHeader(src.name)); err != nil {
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
	if err := w.tw.WriteHeader(w.fileHeader(src.name, src.size)); err != nil {
		return fmt.Errorf("member %s: %w", src.name, err)
	}
	sum, err := w.copyMember(r, src.size)
	if err != nil {
		return fmt.Errorf("member %s: %w", src.name, err)
	}
	w.members = append(w.members, Member{Name: src.name, Type: TypeFile, Size: src.size, SHA256: sum})
	return nil
}

func (w *archiveWriter) dirHeader(name string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: dirPerm, ModTime: w.mtime}
}

func (w *archiveWriter) fileHeader(name string, size int64) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: filePerm, ModTime: w.mtime}
}

// copyMember copies exactly size bytes of r into the archive and returns
// their sha256. It stops early when the context is cancelled.
func (w *archiveWriter) copyMember(r io.Reader, size int64) (string, error) {
	h := sha256.New()
	for left := size; left > 0; {
		if err := w.ctx.Err(); err != nil {
			return "", err
		}
		t0 := time.Now()
		n, err := r.Read(w.copyBuf[:min(int64(len(w.copyBuf)), left)])
		w.stats.Read += time.Since(t0)
		if n > 0 {
			w.hash(h, w.copyBuf[:n])
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

func (w *archiveWriter) hash(h hash.Hash, p []byte) {
	t0 := time.Now()
	h.Write(p)
	w.stats.Hash += time.Since(t0)
}

// emit writes p as it is into the archive's stream part: bytes of the tar
// stream, in a stored frame with zstd.
func (w *archiveWriter) emit(p []byte) error {
	if !w.zstd {
		_, err := w.out.Write(p)
		return err
	}
	w.frameBuf = appendRawFrame(w.frameBuf[:0], p)
	_, err := w.out.Write(w.frameBuf)
	return err
}

// streamDir writes the folder member name in the stream part.
func (w *archiveWriter) streamDir(name string) error {
	block, err := headerBlock(w.dirHeader(name))
	if err != nil {
		return fmt.Errorf("member %s: %w", name, err)
	}
	if err := w.emit(block); err != nil {
		return err
	}
	w.members = append(w.members, Member{Name: name, Type: TypeDir})
	return nil
}

// memberStream is a file member being streamed: its content is added as
// it becomes known, its size at the end.
type memberStream struct {
	name    string
	off     int64  // of the placeholder
	old     []byte // the placeholder as written
	size    int64
	h       hash.Hash
	pending []byte // zstd: content not yet in a frame
}

// beginStream writes the placeholder header of member name.
func (w *archiveWriter) beginStream(name string) (*memberStream, error) {
	if w.tw != nil {
		return nil, fmt.Errorf("member %s: streamed after the tar part began", name)
	}
	ms := &memberStream{name: name, off: w.out.pos, h: sha256.New()}
	zero := make([]byte, tarBlock)
	ms.old = zero
	if w.zstd {
		ms.old = appendRawFrame(nil, zero)
	}
	if _, err := w.out.Write(ms.old); err != nil {
		return nil, err
	}
	return ms, nil
}

// streamData adds p to the content of ms.
func (w *archiveWriter) streamData(ms *memberStream, p []byte) error {
	w.hash(ms.h, p)
	ms.size += int64(len(p))
	w.stats.Streamed += int64(len(p))
	if !w.zstd {
		_, err := w.out.Write(p)
		return err
	}
	for len(p) > 0 {
		c := min(len(p), ioBuf-len(ms.pending))
		ms.pending, p = append(ms.pending, p[:c]...), p[c:]
		if len(ms.pending) == ioBuf {
			if err := w.chunk(ms.pending); err != nil {
				return err
			}
			ms.pending = ms.pending[:0]
		}
	}
	return nil
}

// chunk writes one frame of streamed content: compressed, or stored when
// compressing saves less than 1/32 of it.
func (w *archiveWriter) chunk(p []byte) error {
	if w.store > 0 {
		w.store--
		return w.emit(p)
	}
	if w.chunkEnc == nil {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("zstd encoder: %w", err)
		}
		w.chunkEnc = enc
	}
	t0 := time.Now()
	out := w.chunkEnc.EncodeAll(p, w.frameBuf[:0])
	w.stats.Compress += time.Since(t0)
	if len(out) > len(p)-len(p)/32 {
		w.store = storeAfterIncompressible
		return w.emit(p)
	}
	w.frameBuf = out
	_, err := w.out.Write(out)
	return err
}

// endStream ends ms: its last content and padding are written, and its
// real header replaces the placeholder when the archive is finished.
func (w *archiveWriter) endStream(ms *memberStream) error {
	if w.zstd && len(ms.pending) > 0 {
		if err := w.chunk(ms.pending); err != nil {
			return err
		}
		ms.pending = nil
	}
	if pad := (tarBlock - ms.size%tarBlock) % tarBlock; pad > 0 {
		if err := w.emit(make([]byte, pad)); err != nil {
			return err
		}
	}
	block, err := headerBlock(w.fileHeader(ms.name, ms.size))
	if err != nil {
		return fmt.Errorf("member %s: %w", ms.name, err)
	}
	repl := block
	if w.zstd {
		repl = appendRawFrame(nil, block)
	}
	w.patches = append(w.patches, patch{off: ms.off, old: ms.old, repl: repl})
	w.members = append(w.members, Member{Name: ms.name, Type: TypeFile, Size: ms.size, SHA256: hex.EncodeToString(ms.h.Sum(nil))})
	return nil
}

// headerBlock is the single tar block of hdr: USTAR, or GNU's base-256
// sizes for a member of 8 GiB or more (PAX would take more blocks).
func headerBlock(hdr *tar.Header) ([]byte, error) {
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatGNU} {
		var b bytes.Buffer
		hdr.Format = format
		if err := tar.NewWriter(&b).WriteHeader(hdr); err == nil && b.Len() == tarBlock {
			return b.Bytes(), nil
		}
	}
	return nil, fmt.Errorf("tar header of %s does not fit one block", hdr.Name)
}

// finish ends the tar stream and the compression, waits until everything
// is written, puts the streamed members' headers in place, and returns
// the archive's size and CRC32C.
func (w *archiveWriter) finish() (int64, string, error) {
	err := w.tarPart()
	if err == nil {
		err = w.tw.Close()
	}
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
	for _, p := range w.patches {
		if err != nil {
			break
		}
		if _, err = w.f.WriteAt(p.repl, p.off); err == nil {
			sum = patchCRC32C(sum, n, p.off, p.old, p.repl)
		}
	}
	if err != nil {
		return 0, "", fmt.Errorf("finish archive: %w", err)
	}
	return n, crc32cString(sum), nil
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

// timedWriter adds the time of its writes to d: the zstd encoder
// compresses inside Write (and waits there when the writer is behind).
type timedWriter struct {
	w io.Writer
	d *time.Duration
}

func (t timedWriter) Write(p []byte) (int, error) {
	t0 := time.Now()
	n, err := t.w.Write(p)
	*t.d += time.Since(t0)
	return n, err
}
