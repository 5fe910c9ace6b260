// Package archlog sets up ARCH's logs: its own zerolog JSON log file, and
// error lines in runc's --log file in the form containerd reads
// ({"level":"error","msg":...,"time":RFC3339}). Nothing here ever writes to
// stdout or stderr: those belong to containerd and to the container.
package archlog

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

func init() {
	// containerd decodes runc's log lines as {level, msg, time}; use the same
	// field names everywhere so both logs read alike.
	zerolog.MessageFieldName = "msg"
	zerolog.TimeFieldFormat = time.RFC3339Nano
}

// Open returns a logger that appends to path at the given level. When the
// file cannot be opened the logger discards everything: ARCH's own logging
// must never be the reason a runc call fails. The returned closer closes the file.
func Open(path, level, component string) (zerolog.Logger, io.Closer) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	f, err := openAppend(path)
	if err != nil {
		return zerolog.Nop(), nopCloser{}
	}
	l := zerolog.New(f).Level(lvl).With().Timestamp().Str("component", component).Int("pid", os.Getpid()).Logger()
	return l, f
}

func openAppend(path string) (*os.File, error) {
	if path == "" {
		return nil, fmt.Errorf("no log file configured")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall_O_CLOEXEC, 0o600)
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// RuncLog appends one line at level ("error" or "warning") to runc's --log
// file; the shim shows the msg of the last error line to the user. An empty
// path is a no-op; failures are returned for ARCH's own log only.
func RuncLog(path, level, msg string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall_O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open runc log %s: %w", path, err)
	}
	defer f.Close()
	lvl := zerolog.ErrorLevel
	if level == "warning" {
		lvl = zerolog.WarnLevel
	}
	l := zerolog.New(f).With().Timestamp().Logger()
	l.WithLevel(lvl).Msg(msg)
	return nil
}
