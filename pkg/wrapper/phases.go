package wrapper

import (
	"maps"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

// phases times the steps of a long call (checkpoint, restore) for the log:
// the operator sees where the time went, the benchmark reads it.
type phases struct {
	last  time.Time
	start time.Time
	names []string
	durs  []time.Duration
	// archive is where a checkpoint's commit spent its time (nil for
	// other calls).
	archive *ckpt.CommitStats
}

func newPhases() *phases {
	now := time.Now()
	return &phases{last: now, start: now}
}

// done ends the current step under name.
func (p *phases) done(name string) {
	now := time.Now()
	p.names = append(p.names, name)
	p.durs = append(p.durs, now.Sub(p.last))
	p.last = now
}

// dict is the steps as a log field (milliseconds), plus the total.
func (p *phases) dict() *zerolog.Event {
	d := zerolog.Dict()
	for i, n := range p.names {
		d = d.Dur(n, p.durs[i])
	}
	if a := p.archive; a != nil {
		ad := zerolog.Dict().Int64("streamed_bytes", a.Streamed)
		ms := a.Millis()
		for _, k := range slices.Sorted(maps.Keys(ms)) {
			ad = ad.Float64(k, ms[k])
		}
		if a.Fallback != "" {
			ad = ad.Str("fallback", a.Fallback)
		}
		d = d.Dict("archive", ad)
	}
	return d.Dur("total", time.Since(p.start))
}
