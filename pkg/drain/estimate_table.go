package drain

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteEstimate prints a dry run for people: one row per container it
// would checkpoint (memory, writable layer, store), one per store (its
// containers' bytes, its measured bandwidth), the arithmetic, and the
// verdict: a line starting "fits", "WARNING: does not fit" or "cannot
// tell".
func WriteEstimate(w io.Writer, e *Estimate) error {
	var b strings.Builder
	if len(e.Containers) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CONTAINER\tKEY\tMEMORY\tLAYER\tSTORE")
		for _, c := range e.Containers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name(), c.Key, sizeOrUnknown(c.MemoryBytes), layerText(c), c.Store)
		}
		tw.Flush()
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STORE\tCONTAINERS\tBYTES\tWRITE BANDWIDTH")
		for _, s := range e.Stores {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Path, s.Containers, formatSize(s.Bytes), bandwidthText(s))
		}
		tw.Flush()
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "dry run: %d to checkpoint, %d skipped; %s to write\n", len(e.Containers), e.Skipped, formatSize(e.TotalBytes))
	fmt.Fprintf(&b, "estimate: %s to write at the measured bandwidth + %s x %s per checkpoint (%d at once: --parallel %d, at most 1 per CPU) = %s; deadline %s\n",
		formatDuration(e.Write.Duration()), rounds(e.Rounds), formatDuration(e.PerContainer.Duration()), e.Lanes, e.Parallel,
		formatDuration(e.Estimated.Duration()), formatDuration(e.Deadline.Duration()))
	for _, u := range e.Unknown {
		fmt.Fprintf(&b, "unknown: %s\n", oneLine(u, 300))
	}
	for _, warn := range e.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warn)
	}
	fmt.Fprintln(&b, verdictLine(e))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write the estimate: %w", err)
	}
	return nil
}

// verdictLine is the last line of the table.
func verdictLine(e *Estimate) string {
	est, dl := e.Estimated.Duration(), e.Deadline.Duration()
	switch e.Verdict {
	case Fits:
		return fmt.Sprintf("fits: about %s of the %s deadline, %s to spare", formatDuration(est), formatDuration(dl), formatDuration(dl-est))
	case DoesNotFit:
		lower := ""
		if len(e.Unknown) > 0 {
			lower = "at least "
		}
		return fmt.Sprintf("WARNING: does not fit: the drain needs %sabout %s, %s more than the %s deadline; the containers left when it passes would not be checkpointed",
			lower, formatDuration(est), formatDuration(est-dl), formatDuration(dl))
	default:
		return fmt.Sprintf("cannot tell: what could be measured takes about %s of the %s deadline, but %d figures are unknown (above)",
			formatDuration(est), formatDuration(dl), len(e.Unknown))
	}
}

// rounds is "1 round", "5 rounds".
func rounds(n int) string {
	if n == 1 {
		return "1 round"
	}
	return fmt.Sprintf("%d rounds", n)
}

func sizeOrUnknown(n *int64) string {
	if n == nil {
		return "unknown"
	}
	return formatSize(*n)
}

// layerText is the LAYER column.
func layerText(c ContainerUsage) string {
	if c.LayerBytes != nil && c.LayerNote != "" {
		return "none (no overlay)"
	}
	return sizeOrUnknown(c.LayerBytes)
}

// bandwidthText is the WRITE BANDWIDTH column.
func bandwidthText(s StoreProbe) string {
	if s.BytesPerSecond <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%s/s (%s fsynced in %s)", formatSize(int64(s.BytesPerSecond)), formatSize(s.ProbeBytes),
		formatDuration(s.ProbeSeconds.Duration().Round(time.Millisecond)))
}
