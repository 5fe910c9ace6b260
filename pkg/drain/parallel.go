package drain

import "runtime"

// MaxDefaultParallel caps DefaultParallel on big machines: every running
// checkpoint holds a full dump in staging, and the store (often a shared
// filesystem) is written by all of them at once.
const MaxDefaultParallel = 8

// DefaultParallel is how many checkpoints run at once unless told
// otherwise: two per CPU, at least 2, at most MaxDefaultParallel. A
// checkpoint alternates between CPU work (CRIU copying memory, sha256,
// zstd, the copies through the page cache: about one core each) and
// waiting (containerd and runc round trips, freezing, fsync, a shared
// filesystem's latency); two per core keeps the CPUs busy while half of
// them wait. Measured with `bench drain` (20 x 64 MiB, 2 CPUs, archives
// streamed during the dump): --parallel 2, 4 and 8 all took 4.1-4.4 s
// against 5.5-5.9 s for 1, with the CPUs 93-99% busy: bound by the CPUs,
// so more lanes than that only hold more dumps in staging at once.
func DefaultParallel() int {
	return min(max(2*runtime.NumCPU(), 2), MaxDefaultParallel)
}
