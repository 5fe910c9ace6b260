package ckpt

import (
	"errors"
	"syscall"
	"testing"
)

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// A write error of the file (a full store) is what the producer is told,
// not only that the stream stopped: the operator must read "no space left".
func TestWriteBehindReportsTheFilesError(t *testing.T) {
	b := newWriteBehind(failingWriter{syscall.ENOSPC}, &CommitStats{})
	chunk := make([]byte, ioBuf)
	var err error
	for i := 0; i < 2*writeBehindBufs+2 && err == nil; i++ {
		_, err = b.Write(chunk)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write: %v, want ENOSPC", err)
	}
	if _, _, err := b.close(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("close: %v, want ENOSPC", err)
	}
}
