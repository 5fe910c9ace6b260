package wrapper

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// Staging folders are named "<pid>-<starttime>.<kind>.<id>.<random>" so
// that the folder of a wrapper that died (OOM kill, crash) can be told from
// one in use: its process is gone, or the pid now belongs to another
// process started at another time.

// newStaging creates a private staging folder for this wrapper process.
func newStaging(dir, kind, id string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create staging folder: %w", err)
	}
	pid := os.Getpid()
	prefix := fmt.Sprintf("%d-%s.%s.%s.", pid, procStartTime(pid), kind, id)
	p, err := os.MkdirTemp(dir, prefix)
	if err != nil {
		return "", fmt.Errorf("create staging folder: %w", err)
	}
	return p, nil
}

// sweepStaging removes the staging folders of wrappers that are gone.
func sweepStaging(dir string, log *zerolog.Logger) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		owner, _, ok := strings.Cut(e.Name(), ".")
		pidStr, start, ok2 := strings.Cut(owner, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || !ok2 || err != nil || !e.IsDir() {
			continue // not ours
		}
		if procStartTime(pid) == start {
			continue // its wrapper still runs
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err == nil {
			log.Info().Str("staging", e.Name()).Msg("removed the staging folder of a wrapper that died")
		}
	}
}
