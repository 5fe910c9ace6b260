package realrunc

import "bytes"

// limitedBuffer keeps at most 1 MiB so that a chatty runc cannot make the
// wrapper grow without bound.
type limitedBuffer struct{ bytes.Buffer }

const maxCapture = 1 << 20

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxCapture - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
