package drain

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints the report as a table, one row per container
// (namespace/container, key, size, time, result), and a closing line with
// the counts and the time against the deadline.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tKEY\tSIZE\tTIME\tRESULT")
	for _, res := range r.Results {
		size, took := "-", "-"
		if res.State == Checkpointed {
			size = formatSize(res.Size)
		}
		if d := res.Duration(); d > 0 {
			took = formatDuration(d)
		}
		key := res.Key
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", res.Name(), key, size, took, resultText(res))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	c := r.Counts
	total := r.Finished.Sub(r.Started)
	spare := "deadline passed"
	if left := r.Deadline.Sub(r.Finished); left >= 0 {
		spare = formatDuration(left) + " before the deadline"
	}
	_, err := fmt.Fprintf(w, "%d checkpointed, %d failed, %d not started, %d skipped; %s with %d in parallel, %s\n",
		c.Checkpointed, c.Failed, c.NotStarted, c.Skipped, formatDuration(total), r.Parallel, spare)
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// resultText is the RESULT column.
func resultText(r Result) string {
	attempts := ""
	if r.Attempts > 1 {
		attempts = fmt.Sprintf(", attempt %d", r.Attempts)
	}
	switch r.State {
	case Checkpointed:
		return "checkpointed (image " + r.ImageID + attempts + ")"
	case Failed:
		if attempts != "" {
			return fmt.Sprintf("FAILED after %d attempts: %s", r.Attempts, oneLine(r.Reason, 300))
		}
		return "FAILED: " + oneLine(r.Reason, 300)
	case Skipped:
		return "skipped: " + r.Reason
	default:
		return r.Reason
	}
}
