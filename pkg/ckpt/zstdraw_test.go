package ckpt

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Stored frames of every size class decode, alone and concatenated with
// compressed frames, with ARCH's decoder and with the zstd command.
func TestRawFramesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	var stream, want []byte
	for _, n := range []int{0, 1, 255, 256, 512, 65535 + 256, 65536 + 256, 128 << 10, 128<<10 + 1, 3<<20 + 5} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		before := len(stream)
		stream = appendRawFrame(stream, p)
		if got := len(stream) - before; got != rawFrameSize(n) {
			t.Fatalf("frame of %d bytes is %d bytes, rawFrameSize says %d", n, got, rawFrameSize(n))
		}
		want = append(want, p...)
		text := bytes.Repeat([]byte("compressible "), n%1000+1)
		stream = enc.EncodeAll(text, stream)
		want = append(want, text...)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(stream, nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("decode: %v (equal: %v)", err, bytes.Equal(got, want))
	}
	if _, err := exec.LookPath("zstd"); err != nil {
		if requireTools() {
			t.Fatal("zstd command missing")
		}
		t.Skip("zstd command missing")
	}
	cmd := exec.Command("zstd", "-d", "-c")
	cmd.Stdin = bytes.NewReader(stream)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("zstd -d: %v (equal: %v)", err, bytes.Equal(out, want))
	}
}
