package main

import (
	"fmt"
	"io"
	"time"
)

// medianPhase is the median over rounds of one phase of ARCH's log
// ("dump", or "archive", "hash" for a stage of the archive write).
func medianPhase(rounds []map[string]any, path ...string) time.Duration {
	var ds []time.Duration
	for _, ph := range rounds {
		var v any = ph
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		ds = append(ds, ms(v))
	}
	return median(ds)
}

// whereAMiBGoes prints where a checkpointed MiB of memory goes: the time
// of each step of ARCH's checkpoint (medians over the rounds, from ARCH's
// log) per MiB of touched memory. The archive's stages run in parallel
// with the dump and with each other (the follower reads and hashes, a
// writer goroutine writes, the kernel writes back), so they add up to more
// than the wall time; "tail" is the part of the archive write that is
// left once the dump has ended.
func whereAMiBGoes(w io.Writer, rounds []map[string]any, mib int, total time.Duration) {
	ph := func(path ...string) time.Duration { return medianPhase(rounds, path...) }
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)/float64(mib))
	}
	follow, hash, compress, wait := ph("archive", "follow"), ph("archive", "hash"), ph("archive", "compress"), ph("archive", "wait")
	reading := max(follow-hash-compress-wait, 0) + ph("archive", "read")
	trips := ph("freeze") + ph("kill") + ph("gone")
	fmt.Fprintf(w, "\nwhere a checkpointed MiB goes (ms per MiB of memory, medians; the archive's stages overlap the dump):\n")
	fmt.Fprintf(w, "| %-58s | %8s | %-26s |\n", "step", "ms/MiB", "when")
	fmt.Fprintf(w, "|%s|%s|%s|\n", dashes(60), dashes(10), dashes(28))
	for _, r := range []struct {
		what string
		d    time.Duration
		when string
	}{
		{"CRIU's dump (runc checkpoint --leave-running)", ph("dump"), "the critical path"},
		{"reading the dump's files (staging, page cache)", reading, "beside the dump"},
		{"sha256 of the members", hash, "beside the dump"},
		{"zstd (chunks tried, incompressible ones stored)", compress, "beside the dump"},
		{"write(2) of the archive (page cache)", ph("archive", "write"), "writer goroutine"},
		{"asking the kernel to write back (sync_file_range)", ph("archive", "writeback"), "writer goroutine"},
		{"waiting for the writer (the disk is behind)", wait, "beside the dump"},
		{"final fsync of the archive", ph("archive", "fsync"), "after the dump"},
		{"archive left after the dump (tail: rest, fsync, rename)", ph("archive", "tail"), "after the dump"},
		{"runc round trips: state+freeze, kill, wait until gone", trips, "before and after"},
		{"whole checkpoint, wall", total, ""},
	} {
		fmt.Fprintf(w, "| %-58s | %8s | %-26s |\n", r.what, per(r.d), r.when)
	}
}
