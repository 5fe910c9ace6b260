package ckpt

import "time"

// CommitStats says where a commit's time went: what `make bench` reports
// as the cost of a checkpointed MiB, and what arch-wrapper logs with each
// checkpoint. The writer's stages overlap (the file is written by its own
// goroutine while members are read, hashed and compressed), so the
// durations add up to more than the commit's wall time.
type CommitStats struct {
	// Streamed is how many member bytes were archived while the dump was
	// still running.
	Streamed int64
	// Read is time spent reading staging files after the dump (streamed
	// members are read while CRIU writes them and count in Follow).
	Read time.Duration
	// Follow is the time the stream spent reading the dump as it grew.
	Follow time.Duration
	// Hash is time spent computing the members' sha256.
	Hash time.Duration
	// Compress is time spent in zstd.
	Compress time.Duration
	// Wait is time the producer waited for the writer to take a chunk: the
	// file system was the bottleneck.
	Wait time.Duration
	// Write is time spent in write(2) of the archive (page cache).
	Write time.Duration
	// Writeback is time spent asking the kernel to start writing the
	// archive to disk as it grows (sync_file_range), which waits when the
	// disk's queue is full.
	Writeback time.Duration
	// Sync is the final fsync of the archive: what the disk had left to do.
	Sync time.Duration
	// Tail is the time from the end of the dump to a durable archive.
	Tail time.Duration
	// Fallback says why the streamed archive was dropped and written
	// again after the dump ("" when it was not).
	Fallback string
}

// Millis is the durations in milliseconds, for the log.
func (s *CommitStats) Millis() map[string]float64 {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return map[string]float64{
		"read": ms(s.Read), "follow": ms(s.Follow), "hash": ms(s.Hash), "compress": ms(s.Compress),
		"wait": ms(s.Wait), "write": ms(s.Write), "writeback": ms(s.Writeback), "fsync": ms(s.Sync), "tail": ms(s.Tail),
	}
}
