package realrunc

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// State is the part of `runc state` ARCH reads.
type State struct {
	ID      string    `json:"id"`
	Pid     int       `json:"pid"`
	Status  string    `json:"status"` // created, running, paused, stopped
	Bundle  string    `json:"bundle"`
	Created time.Time `json:"created"`
}

// State returns `runc state id`.
func (r *Runner) State(ctx context.Context, id string) (*State, error) {
	out, err := r.Output(ctx, "state", id)
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("decode runc state of %s: %w", id, err)
	}
	return &st, nil
}
