package testbed

import (
	"bytes"
	"strings"
	"testing"
)

func TestRuncOptionsEncoding(t *testing.T) {
	// What `ctr run --runc-root /tmp/arch-x1/runc` stored (containerd 1.6).
	want := "\n\x1acontainerd.runc.v1.Options\x12\x13:\x11/tmp/arch-x1/runc"
	if got := string(runcOptions("", "/tmp/arch-x1/runc")); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	long := strings.Repeat("x", 200)
	if got := appendVarint(nil, uint64(len(long))); !bytes.Equal(got, []byte{0xc8, 0x01}) {
		t.Fatalf("varint 200: %x", got)
	}
}
