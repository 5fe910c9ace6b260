package testbed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LogTailLines is how much of a log a failed test shows.
const LogTailLines = 60

// dumpLog logs the tail of the daemon's log.
func (in *Instance) dumpLog(t testing.TB) {
	t.Helper()
	t.Logf("testbed: last lines of containerd %s log (%s):\n%s", in.Name, in.LogFile, tailFile(in.LogFile, LogTailLines))
}

// DumpLogs logs the tail of the daemon's log, of the task logs and of the
// CRIU logs of the instance; the test bed does it itself on failure.
func (in *Instance) DumpLogs(t testing.TB) {
	t.Helper()
	in.dumpLog(t)
	logs, _ := filepath.Glob(filepath.Join(in.logDir(), "*.log"))
	for _, l := range logs {
		t.Logf("testbed: last lines of %s:\n%s", l, tailFile(l, 10))
	}
	dumpCRIULogs(t, in.Dir)
}

// dumpCRIULogs logs the tail of every CRIU log (dump.log, restore.log...)
// under dir: runc writes them in the checkpoint work folder of the bundle.
func dumpCRIULogs(t testing.TB, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == "rootfs" {
			return filepath.SkipDir
		}
		name := d.Name()
		if !d.IsDir() && strings.HasSuffix(name, ".log") && (strings.Contains(name, "dump") || strings.Contains(name, "restore")) {
			t.Logf("testbed: last lines of CRIU log %s:\n%s", p, tailFile(p, 30))
		}
		return nil
	})
}

// TailFile returns the last n lines of a file (or why it cannot).
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
