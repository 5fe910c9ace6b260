package drain

import (
	"time"
)

// watchIncoming reports, every period, the size of the archive being
// written in a key folder (sizes lists its incoming archives), until stop
// is called. Archives that were there before (left by an interrupted
// commit) are ignored. It reports only changes, and nothing when report is
// nil.
func watchIncoming(sizes func() map[string]int64, every time.Duration, report func(int64)) (stop func()) {
	if report == nil || every <= 0 {
		return func() {}
	}
	old := sizes()
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
			for name, size := range sizes() {
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
