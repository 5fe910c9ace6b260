package spot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// InstanceAction is a spot interruption notice: the instance will be
// terminated, stopped or hibernated at Time.
type InstanceAction struct {
	Action string    `json:"action"` // "terminate", "stop" or "hibernate"
	Time   time.Time `json:"time"`
}

// Rebalance is a rebalance recommendation: the instance is at elevated risk
// of interruption (no deadline is given).
type Rebalance struct {
	NoticeTime time.Time `json:"noticeTime"`
}

// InstanceAction returns the pending interruption notice, or nil when there
// is none (the service answers 404).
func (c *Client) InstanceAction(ctx context.Context) (*InstanceAction, error) {
	var a InstanceAction
	found, err := c.getJSON(ctx, actionPath, &a)
	if err != nil || !found {
		return nil, err
	}
	if a.Action == "" {
		return nil, fmt.Errorf("metadata %s: notice without an action", actionPath)
	}
	return &a, nil
}

// Rebalance returns the rebalance recommendation, or nil when there is none.
func (c *Client) Rebalance(ctx context.Context) (*Rebalance, error) {
	var r Rebalance
	found, err := c.getJSON(ctx, rebalancePath, &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// getJSON decodes the document at path into v; found is false on 404.
func (c *Client) getJSON(ctx context.Context, path string, v any) (found bool, err error) {
	status, body, err := c.get(ctx, path)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusNotFound:
		return false, nil
	case status != http.StatusOK:
		return false, fmt.Errorf("metadata GET %s: HTTP %d: %s", path, status, snippet(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("metadata %s: %w: %s", path, err, snippet(body))
	}
	return true, nil
}
