package realrunc

import (
	"context"
	"encoding/json"
	"fmt"
)

// Pids returns `runc ps --format json id`: every process of the container
// (read from its cgroup, so it works while the container is frozen).
func (r *Runner) Pids(ctx context.Context, id string) ([]int, error) {
	out, err := r.Output(ctx, "ps", "--format", "json", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("decode runc ps of %s: %w", id, err)
	}
	return pids, nil
}
