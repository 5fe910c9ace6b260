package ckpt

import (
	"encoding/hex"
	"hash/crc32"
	"io"
)

// prefetchBufs is how many chunks are read ahead.
const prefetchBufs = 4

// prefetcher reads a file ahead in its own goroutine and hashes and counts
// the bytes as it reads them, so that hashing the whole archive runs in
// parallel with decompressing, hashing and writing the members.
type prefetcher struct {
	full chan chunk
	free chan []byte
	stop chan struct{}
	done chan struct{}

	cur    []byte // unread part of the chunk being served
	curBuf []byte // that chunk's buffer, returned to free when used up
	eof    bool
	err    error // read error of the file (not io.EOF), as served by Read

	// Written by the goroutine, read after done is closed.
	n   int64
	sum string
}

type chunk struct {
	b   []byte
	err error
}

// newPrefetcher starts reading r ahead in chunks of chunkSize bytes.
func newPrefetcher(r io.Reader, chunkSize int) *prefetcher {
	p := &prefetcher{
		full: make(chan chunk, prefetchBufs),
		free: make(chan []byte, prefetchBufs),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range prefetchBufs {
		p.free <- make([]byte, chunkSize)
	}
	go p.run(r)
	return p
}

func (p *prefetcher) run(r io.Reader) {
	defer close(p.done)
	h := crc32.New(castagnoli)
	defer func() { p.sum = hex.EncodeToString(h.Sum(nil)) }()
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.stop:
			return
		}
		n, err := io.ReadFull(r, buf)
		h.Write(buf[:n])
		p.n += int64(n)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		select {
		case p.full <- chunk{buf[:n], err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read serves the prefetched bytes in order.
func (p *prefetcher) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.eof || p.err != nil {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		if p.curBuf != nil {
			p.free <- p.curBuf[:cap(p.curBuf)]
			p.curBuf = nil
		}
		var c chunk
		select {
		case c = <-p.full:
		case <-p.stop:
			return 0, errAborted
		}
		p.cur, p.curBuf = c.b, c.b
		switch {
		case c.err == io.EOF:
			p.eof = true
		case c.err != nil:
			p.err = c.err
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// result stops the goroutine and returns the number and CRC32C of the
// bytes it read. Call it once Read has returned io.EOF to hash the whole
// file; after an error, to release the goroutine.
func (p *prefetcher) result() (int64, string) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
	return p.n, p.sum
}
