package drain

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Probe bounds (ProbeOptions' zero values).
const (
	// DefaultProbeBytes is how much the probe writes: enough to get past
	// the first fast writes into the page cache, which the fsync then pays.
	DefaultProbeBytes = 64 << 20
	// DefaultProbeWriteTime stops the writes early on a slow store: the
	// bandwidth is then that of what was written.
	DefaultProbeWriteTime = 5 * time.Second
	// DefaultProbeTimeout bounds the whole probe, fsync included: a store
	// that takes longer (a hung NFS or EFS mount) is reported, not waited for.
	DefaultProbeTimeout = 20 * time.Second
)

// ProbeFilePrefix starts the name of the probe's file in the store's root
// folder (a dot name: the store's listing and gc pass over it).
const ProbeFilePrefix = ".arch-probe-"

// probeChunk is the size of one write: the archive writer's (pkg/ckpt).
const probeChunk = 1 << 20

// probeFreeShare: the probe writes at most this share of the store's free
// space, and does not probe a store with less than 1 MiB for it.
const probeFreeShare = 8

// ProbeOptions bound a probe; zero values mean the defaults.
type ProbeOptions struct {
	Bytes     int64
	WriteTime time.Duration
	Timeout   time.Duration
}

func (o ProbeOptions) withDefaults() ProbeOptions {
	if o.Bytes <= 0 {
		o.Bytes = DefaultProbeBytes
	}
	if o.WriteTime <= 0 {
		o.WriteTime = DefaultProbeWriteTime
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultProbeTimeout
	}
	return o
}

// Bandwidth is a probe's measure of a store.
type Bandwidth struct {
	Bytes int64         // written and fsynced
	Took  time.Duration // writes and fsync
	Free  int64         // the store's free space before the probe (-1: unknown)
}

// PerSecond is the write bandwidth in bytes per second (0 when nothing
// was measured).
func (b Bandwidth) PerSecond() float64 {
	if b.Bytes <= 0 || b.Took <= 0 {
		return 0
	}
	return float64(b.Bytes) / b.Took.Seconds()
}

// ProbeStore measures the write bandwidth of the checkpoint store at
// store, reached as a checkpoint reaches it: placed below what the node
// allows now (archspec.OpenStore), and its root folder opened without
// following any symlink below its allowed root (a store a container named
// that is, or passes through, a symlink is refused). A store that does not
// exist yet is created, as its first checkpoint would create it.
func ProbeStore(ctx context.Context, allowed saferoot.Allowed, store string, o ProbeOptions) (Bandwidth, error) {
	st, err := archspec.OpenStore(allowed, store)
	if err != nil {
		return Bandwidth{Free: -1}, fmt.Errorf("checkpoint store %s: %w", store, err)
	}
	dir, err := st.OpenRoot(true)
	if err != nil {
		return Bandwidth{Free: -1}, err
	}
	defer dir.Close()
	return Probe(ctx, dir, o)
}

// Probe measures how fast a file in dir is written and made durable: it
// writes random bytes (a compressing or deduplicating file system would
// make zeros look fast) in 1 MiB writes, as the archive writer does, then
// fsyncs, and divides the bytes by the time of the writes and the fsync.
// It writes o.Bytes, at most an eighth of the free space, and stops
// writing after o.WriteTime; the whole probe gives up after o.Timeout.
//
// The file (ProbeFilePrefix + random, created with O_EXCL, never through a
// symlink) is unlinked as soon as it is created and written through its
// descriptor: it is gone whatever happens next, an error, the timeout, a
// signal, even SIGKILL, and its blocks are freed when the descriptor is
// closed. A probe that times out leaves its writer to finish in the
// background (the process is about to exit).
func Probe(ctx context.Context, dir *saferoot.Dir, o ProbeOptions) (Bandwidth, error) {
	o = o.withDefaults()
	var rnd [8]byte
	if _, err := crand.Read(rnd[:]); err != nil {
		return Bandwidth{Free: -1}, fmt.Errorf("name the probe file: %w", err)
	}
	name := ProbeFilePrefix + hex.EncodeToString(rnd[:])
	f, err := dir.OpenFile(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
	if err != nil {
		return Bandwidth{Free: -1}, fmt.Errorf("create the probe file: %w", err)
	}
	if err := dir.Remove(name); err != nil {
		f.Close()
		return Bandwidth{Free: -1}, fmt.Errorf("remove the probe file (remove %s by hand): %w", dir.Join(name), err)
	}
	bw := Bandwidth{Free: -1}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		f.Close()
		return bw, fmt.Errorf("free space of %s: %w", dir.Path(), err)
	}
	bw.Free = int64(fs.Bavail) * fs.Bsize
	size := min(o.Bytes, bw.Free/probeFreeShare) / probeChunk * probeChunk
	if size < probeChunk {
		f.Close()
		return bw, fmt.Errorf("%s has only %s free: not probed", dir.Path(), formatSize(bw.Free))
	}
	type result struct {
		n    int64
		took time.Duration
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer f.Close()
		n, took, err := writeProbe(ctx, f, size, o.WriteTime)
		done <- result{n, took, err}
	}()
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return bw, fmt.Errorf("probe write to %s: %w", dir.Path(), r.err)
		}
		bw.Bytes, bw.Took = r.n, r.took
		return bw, nil
	case <-timer.C:
		return bw, fmt.Errorf("probe write to %s: not done within %v (a hung or very slow store)", dir.Path(), o.Timeout)
	case <-ctx.Done():
		return bw, fmt.Errorf("probe write to %s: %w", dir.Path(), ctx.Err())
	}
}

// writeProbe writes size random bytes to f (fewer once writeTime has
// passed) and fsyncs it; took counts the writes and the fsync, not the
// making of the random bytes.
func writeProbe(ctx context.Context, f *os.File, size int64, writeTime time.Duration) (n int64, took time.Duration, err error) {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return 0, 0, err
	}
	rng := rand.NewChaCha8(seed)
	buf := make([]byte, probeChunk)
	for n < size && took < writeTime {
		if err := ctx.Err(); err != nil {
			return n, took, err
		}
		chunk := buf[:min(int64(len(buf)), size-n)]
		rng.Read(chunk)
		start := time.Now()
		w, err := f.Write(chunk)
		took += time.Since(start)
		n += int64(w)
		if err != nil {
			return n, took, err
		}
	}
	start := time.Now()
	if err := f.Sync(); err != nil {
		return n, took, fmt.Errorf("fsync: %w", err)
	}
	return n, took + time.Since(start), nil
}
