package wrapper

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxDumpAttempts bounds the dumps of one checkpoint whose CRIU could not
// seize the container's tasks (seizeFailed), within checkpoint_timeout.
const maxDumpAttempts = 3

// CRIU's words when it gave up seizing a task: freeze_processes timed out
// (10 s) on a task it could not stop, most often one that was exiting or
// between fork and exec when the cgroup froze, on a loaded machine. CRIU
// then lets every task go as it found it (the caller's freeze stands), so
// the same dump can be tried again at once; the next seize finds other
// tasks. Seen in the e2e storm under load (50 shell counters forking every
// 100 ms, both CPUs saturated).
var seizeFailures = [][]byte{[]byte("Unseizable non-zombie"), []byte("Timeout reached. Try to interrupt")}

// seizeFailed reports whether the failed dump in staging failed because
// CRIU could not seize a task (from the end of its dump.log).
func seizeFailed(staging string) bool {
	f, err := os.Open(filepath.Join(staging, "work", "dump.log"))
	if err != nil {
		return false
	}
	defer f.Close()
	const tail = 16 << 10
	if st, err := f.Stat(); err == nil && st.Size() > tail {
		f.Seek(st.Size()-tail, io.SeekStart)
	}
	b, err := io.ReadAll(io.LimitReader(f, tail))
	if err != nil {
		return false
	}
	for _, s := range seizeFailures {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

// stillFrozen reports whether the container is still paused after a
// failed dump: only then is a new dump the same checkpoint (nothing ran in
// between).
func (c *call) stillFrozen(ctx context.Context) bool {
	st, err := c.rc.State(ctx, c.cmd.ID)
	return err == nil && st.Status == "paused"
}

// clearDump removes what a failed dump left in staging (CRIU's image and
// work folders) so that the next attempt starts from nothing.
func clearDump(staging string) error {
	for _, d := range []string{"checkpoint", "work"} {
		if err := os.RemoveAll(filepath.Join(staging, d)); err != nil {
			return fmt.Errorf("clear the failed dump: %w", err)
		}
	}
	return nil
}
