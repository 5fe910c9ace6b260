package drain

import "runtime"

// MaxDefaultParallel caps DefaultParallel on big machines: every running
// checkpoint holds a full dump in staging, and the store (often a shared
// filesystem) is written by all of them at once.
const MaxDefaultParallel = 8

// DefaultParallel is how many checkpoints run at once unless told
// otherwise: two per CPU, at least 2, at most MaxDefaultParallel. A
// checkpoint alternates between CPU work (CRIU copying memory, zstd,
// sha256: about one core each) and waiting (containerd and runc round
// trips, freezing, fsync of the archive, a shared filesystem's latency);
// two per core keeps the CPUs busy while half of them wait. Measured with
// `go run ./hack/bench drain` (20 x 64 MiB, 2 CPUs): --parallel 2 gave a
// 1.54x speed-up over 1 with the CPUs 80% busy, 3 to 8 gave 1.7x to 1.9x
// with them 90-96% busy.
func DefaultParallel() int {
	return min(max(2*runtime.NumCPU(), 2), MaxDefaultParallel)
}
