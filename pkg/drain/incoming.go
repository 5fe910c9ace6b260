package drain

import (
	"os"
	"time"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// watchIncoming reports, every period, the size of the archive being
// written in the key folder dir, until stop is called. Archives that were
// there before (left by an interrupted commit) are ignored. It reports
// only changes, and nothing when report is nil.
func watchIncoming(dir string, every time.Duration, report func(int64)) (stop func()) {
	if report == nil || every <= 0 {
		return func() {}
	}
	old := incomingSizes(dir)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var n int64
			for name, size := range incomingSizes(dir) {
				if _, stale := old[name]; !stale {
					n = max(n, size)
				}
			}
			if n != last {
				report(n)
				last = n
			}
		}
	}()
	return func() { close(done); <-finished }
}

// incomingSizes maps the archives being written in dir to their sizes.
func incomingSizes(dir string) map[string]int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	m := map[string]int64{}
	for _, e := range ents {
		if !ckpt.IsIncoming(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil {
			m[e.Name()] = info.Size()
		}
	}
	return m
}
