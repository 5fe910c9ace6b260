package drain

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON prints the report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// WriteEstimateJSON prints a dry run's estimate as one indented JSON
// document.
func WriteEstimateJSON(w io.Writer, e *Estimate) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		return fmt.Errorf("write JSON estimate: %w", err)
	}
	return nil
}
