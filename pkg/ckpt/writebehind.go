package ckpt

import (
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"sync/atomic"
)

// writeBehindBufs is how many ioBuf-sized chunks may wait to be written.
const writeBehindBufs = 4

var errAborted = errors.New("archive stream stopped")

// writeBehind collects archive bytes into big chunks and checksums, counts
// and writes them in its own goroutine, so that the writes run in parallel
// with reading and hashing the members. Write must not be
// called concurrently with itself or after close.
type writeBehind struct {
	w        io.Writer
	progress func(int64)

	cur  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	// failed is set by the goroutine on a write error and by abort: Write
	// then fails at once.
	failed atomic.Bool

	// Written by the goroutine, read after done is closed.
	n   int64
	sum string
	err error
}

func newWriteBehind(w io.Writer, progress func(int64)) *writeBehind {
	b := &writeBehind{
		w:        w,
		progress: progress,
		full:     make(chan []byte, writeBehindBufs),
		free:     make(chan []byte, writeBehindBufs),
		done:     make(chan struct{}),
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
	for chunk := range b.full {
		if b.err == nil && !b.failed.Load() {
			_, b.err = b.w.Write(chunk)
			h.Write(chunk)
			b.n += int64(len(chunk))
			if b.err != nil {
				b.failed.Store(true)
			} else if b.progress != nil {
				b.progress(b.n)
			}
		}
		b.free <- chunk[:0]
	}
	b.sum = hex.EncodeToString(h.Sum(nil))
}

func (b *writeBehind) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if b.failed.Load() {
			return n, errAborted
		}
		c := copy(b.cur[len(b.cur):cap(b.cur)], p)
		b.cur = b.cur[:len(b.cur)+c]
		p, n = p[c:], n+c
		if len(b.cur) == cap(b.cur) {
			b.full <- b.cur
			b.cur = <-b.free
		}
	}
	return n, nil
}

// abort makes every further Write fail; close must still be called.
func (b *writeBehind) abort() { b.failed.Store(true) }

// close writes what is left, waits for the goroutine and returns the size
// and CRC32C of everything written.
func (b *writeBehind) close() (int64, string, error) {
	if len(b.cur) > 0 {
		b.full <- b.cur
		b.cur = nil
	}
	close(b.full)
	<-b.done
	if b.err == nil && b.failed.Load() {
		b.err = errAborted
	}
	return b.n, b.sum, b.err
}
