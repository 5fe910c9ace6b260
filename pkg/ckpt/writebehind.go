package ckpt

import (
	"errors"
	"hash/crc32"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// writeBehindBufs is how many ioBuf-sized chunks may wait to be written.
const writeBehindBufs = 4

// writebackEvery is how many bytes are written between two requests that
// the kernel start writing them to the disk: the final fsync then finds
// most of the archive already written, and the disk works while the
// archive is produced instead of after.
const writebackEvery = 8 << 20

var errAborted = errors.New("archive stream stopped")

// writeBehind collects archive bytes into big chunks and checksums, counts
// and writes them in its own goroutine, so that the writes run in parallel
// with reading and hashing the members. Write must not be
// called concurrently with itself or after close.
type writeBehind struct {
	w        io.Writer
	fd       int // for writeback requests; -1 when w is not a file
	progress atomic.Pointer[func(int64)]
	stats    *CommitStats

	// pos is the number of bytes given to Write (the caller's goroutine).
	pos int64

	cur  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	// failed is set by the goroutine on a write error and by abort: Write
	// then fails at once, with the write error when there is one.
	failed   atomic.Bool
	writeErr atomic.Pointer[error]

	// Written by the goroutine, read after done is closed.
	n         int64
	sum       uint32
	err       error
	written   time.Duration
	writeback time.Duration
}

func newWriteBehind(w io.Writer, stats *CommitStats) *writeBehind {
	b := &writeBehind{
		w:     w,
		fd:    -1,
		stats: stats,
		full:  make(chan []byte, writeBehindBufs),
		free:  make(chan []byte, writeBehindBufs),
		done:  make(chan struct{}),
	}
	if f, ok := w.(*os.File); ok {
		b.fd = int(f.Fd())
	}
	for range writeBehindBufs - 1 {
		b.free <- make([]byte, 0, ioBuf)
	}
	b.cur = make([]byte, 0, ioBuf)
	go b.run()
	return b
}

func (b *writeBehind) run() {
	defer close(b.done)
	h := crc32.New(castagnoli)
	var flushed int64 // bytes whose writeback was requested
	for chunk := range b.full {
		if b.err == nil && !b.failed.Load() {
			t0 := time.Now()
			_, b.err = b.w.Write(chunk)
			b.written += time.Since(t0)
			h.Write(chunk)
			b.n += int64(len(chunk))
			if b.err != nil {
				err := b.err
				b.writeErr.Store(&err)
				b.failed.Store(true)
			} else if p := b.progress.Load(); p != nil {
				(*p)(b.n)
			}
			if b.fd >= 0 && b.n-flushed >= writebackEvery {
				// Best effort: a filesystem without it (FUSE, NFS) just
				// writes everything at fsync.
				t0 := time.Now()
				if unix.SyncFileRange(b.fd, flushed, b.n-flushed, unix.SYNC_FILE_RANGE_WRITE) != nil {
					b.fd = -1
				}
				b.writeback += time.Since(t0)
				flushed = b.n
			}
		}
		b.free <- chunk[:0]
	}
	b.sum = h.Sum32()
}

func (b *writeBehind) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if b.failed.Load() {
			return n, b.failure()
		}
		c := copy(b.cur[len(b.cur):cap(b.cur)], p)
		b.cur = b.cur[:len(b.cur)+c]
		p, n = p[c:], n+c
		b.pos += int64(c)
		if len(b.cur) == cap(b.cur) {
			b.full <- b.cur
			t0 := time.Now()
			b.cur = <-b.free
			b.stats.Wait += time.Since(t0)
		}
	}
	return n, nil
}

// flush hands the chunk being filled to the writer now, full or not: the
// producer is about to wait for its input, and the disk need not.
func (b *writeBehind) flush() {
	if len(b.cur) == 0 || b.failed.Load() {
		return
	}
	b.full <- b.cur
	t0 := time.Now()
	b.cur = <-b.free
	b.stats.Wait += time.Since(t0)
}

// setProgress sets (nil: removes) the function told the bytes written so
// far after each chunk.
func (b *writeBehind) setProgress(progress func(int64)) {
	if progress == nil {
		b.progress.Store(nil)
		return
	}
	b.progress.Store(&progress)
}

// failure is why Write fails: the file's write error, or the abort.
func (b *writeBehind) failure() error {
	if err := b.writeErr.Load(); err != nil {
		return *err
	}
	return errAborted
}

// abort makes every further Write fail; close must still be called.
func (b *writeBehind) abort() { b.failed.Store(true) }

// close writes what is left, waits for the goroutine and returns the size
// and CRC32C of everything written.
func (b *writeBehind) close() (int64, uint32, error) {
	if b.cur != nil {
		if len(b.cur) > 0 {
			b.full <- b.cur
		}
		b.cur = nil
		close(b.full)
	}
	<-b.done
	b.stats.Write = b.written
	b.stats.Writeback = b.writeback
	if b.err == nil && b.failed.Load() {
		b.err = errAborted
	}
	return b.n, b.sum, b.err
}
