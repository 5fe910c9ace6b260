package drain

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Live redraws a Board in place on a terminal: a header with the counts and
// the time left, and one line per container that is checkpointed (skipped
// ones appear in the summary only).
type Live struct {
	w        io.Writer
	board    *Board
	deadline time.Time
	height   int // terminal rows; 0 = unknown
	width    int // terminal columns; 0 = unknown
	every    time.Duration

	mu    sync.Mutex
	drawn int // lines drawn last time
	stop  chan struct{}
	done  chan struct{}
}

// NewLive returns a view of board on w (a terminal of height rows and
// width columns, 0 when unknown) for a run bound by deadline.
func NewLive(w io.Writer, board *Board, deadline time.Time, height, width int) *Live {
	return &Live{w: w, board: board, deadline: deadline, height: height, width: width, every: 200 * time.Millisecond}
}

// Start redraws periodically until Stop.
func (l *Live) Start() {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(l.every)
		defer t.Stop()
		for {
			l.Draw(time.Now())
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the redraws and draws the final state.
func (l *Live) Stop() {
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	l.Draw(time.Now())
}

// Draw replaces the previous frame with the board as of now: the cursor
// goes back to the frame's first line and every line is rewritten in place
// (erased first), never scrolling; lines are cut to the terminal's width
// so that none wraps. A shorter frame leaves erased lines below it.
func (l *Live) Draw(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.frame(now)
	var sb strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&sb, "\r\x1b[%dA", l.drawn)
	}
	for i := range max(len(lines), l.drawn) {
		sb.WriteString("\x1b[2K")
		if i < len(lines) {
			sb.WriteString(l.fit(lines[i]))
		}
		sb.WriteByte('\n')
	}
	io.WriteString(l.w, sb.String())
	l.drawn = max(len(lines), l.drawn)
}

// fit cuts s to the terminal's width (less one column: writing the last
// one makes some terminals wrap).
func (l *Live) fit(s string) string {
	if l.width > 1 && len(s) > l.width-1 {
		return s[:l.width-1]
	}
	return s
}

// frame renders the board's lines, at most height-1 of them.
func (l *Live) frame(now time.Time) []string {
	var rows []Row
	counts := map[Phase]int{}
	for _, r := range l.board.Rows() {
		counts[r.Phase]++
		if r.Phase != PhaseSkipped {
			rows = append(rows, r)
		}
	}
	left := l.deadline.Sub(now)
	deadline := "deadline passed"
	if left > 0 {
		deadline = formatDuration(left.Round(time.Second)) + " to the deadline"
	}
	lines := []string{fmt.Sprintf("checkpoint-all: %d done, %d running, %d queued, %d failed, %d not started, %d skipped; %s",
		counts[PhaseDone], counts[PhaseCheckpointing], counts[PhaseQueued], counts[PhaseFailed], counts[PhaseNotStarted], counts[PhaseSkipped], deadline)}
	hidden := 0
	if l.height > 3 && len(rows) > l.height-2 {
		hidden = len(rows) - (l.height - 3)
		rows = busiest(rows, l.height-3)
	}
	width := 10
	for _, r := range rows {
		width = max(width, len(r.Name))
	}
	for _, r := range rows {
		lines = append(lines, "  "+rowLine(r, width, now))
	}
	if hidden > 0 {
		lines = append(lines, fmt.Sprintf("  ... and %d more", hidden))
	}
	return lines
}

// busiest keeps the n rows most worth watching: running and failed first.
func busiest(rows []Row, n int) []Row {
	var out []Row
	for _, want := range []Phase{PhaseCheckpointing, PhaseFailed, PhaseQueued, PhaseNotStarted, PhaseDone} {
		for _, r := range rows {
			if r.Phase == want && len(out) < n {
				out = append(out, r)
			}
		}
	}
	return out
}

// rowLine is one container's line: name, phase, bytes, time, reason.
func rowLine(r Row, width int, now time.Time) string {
	label := string(r.Phase)
	switch {
	case r.Phase == PhaseNotStarted:
		label = r.Reason
	case r.Attempt > 1 && (r.Phase == PhaseCheckpointing || r.Phase == PhaseDone || r.Phase == PhaseFailed):
		label += fmt.Sprintf(" #%d", r.Attempt)
	}
	s := fmt.Sprintf("%-*s  %-13s", width, r.Name, label)
	switch r.Phase {
	case PhaseCheckpointing:
		written := formatSize(r.Bytes)
		if r.Bytes == 0 {
			written = "dumping"
		}
		s += fmt.Sprintf("  %10s  %s", written, formatDuration(now.Sub(r.Start)))
	case PhaseDone:
		s += fmt.Sprintf("  %10s  %s", formatSize(r.Bytes), formatDuration(r.End.Sub(r.Start)))
	case PhaseFailed:
		s += fmt.Sprintf("  %10s  %s  %s", "", formatDuration(r.End.Sub(r.Start)), oneLine(r.Reason, 200))
	}
	return strings.TrimRight(s, " ")
}

// oneLine flattens and shortens a message for a single terminal line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
