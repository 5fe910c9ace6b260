// Package spot reads EC2 interruption notices from the instance metadata
// service (IMDSv2): the spot instance-action notice (about two minutes
// before a spot instance is terminated, stopped or hibernated) and the
// rebalance recommendation (an earlier, weaker signal). Client makes the
// requests; Watcher polls them and calls its handlers.
package spot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultEndpoint is the instance metadata service of EC2.
const DefaultEndpoint = "http://169.254.169.254"

// Token lifetimes accepted by IMDSv2 (whole seconds, 1 s to 6 h).
const (
	DefaultTokenTTL = 6 * time.Hour
	MaxTokenTTL     = 6 * time.Hour
)

// IMDSv2 paths and headers.
const (
	tokenPath     = "/latest/api/token"
	actionPath    = "/latest/meta-data/spot/instance-action"
	rebalancePath = "/latest/meta-data/events/recommendations/rebalance"
	ttlHeader     = "X-aws-ec2-metadata-token-ttl-seconds"
	tokenHeader   = "X-aws-ec2-metadata-token"
	maxBody       = 64 << 10
	// requestTimeout bounds one request: the service answers in
	// milliseconds when it is there at all.
	requestTimeout = 2 * time.Second
)

// ErrUnauthorized is returned when the service refuses a fresh token too.
var ErrUnauthorized = errors.New("instance metadata service refused the session token (401)")

// Client talks to the instance metadata service with IMDSv2 session
// tokens. It keeps one token and gets a new one shortly before it expires
// or when the service refuses it. A Client is safe for concurrent use.
type Client struct {
	endpoint string
	ttl      time.Duration
	http     *http.Client
	now      func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewClient returns a client of the service at endpoint ("" = the EC2
// one) whose tokens live ttl (0 = DefaultTokenTTL; rounded down to whole
// seconds, at least one).
func NewClient(endpoint string, ttl time.Duration) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second || ttl > MaxTokenTTL {
		return nil, fmt.Errorf("metadata token lifetime %v: must be between 1s and %v", ttl, MaxTokenTTL)
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("metadata endpoint %q: want http://HOST[:PORT]", endpoint)
	}
	return &Client{
		endpoint: strings.TrimRight(endpoint, "/"),
		ttl:      ttl,
		http:     &http.Client{Timeout: requestTimeout},
		now:      time.Now,
	}, nil
}

// renewBefore is how long before its expiry a token is replaced: a quarter
// of its lifetime, at most a minute.
func (c *Client) renewBefore() time.Duration { return min(c.ttl/4, time.Minute) }

// sessionToken returns the current token, getting a new one when there is
// none or it is about to expire.
func (c *Client) sessionToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.renewAt) {
		return c.token, nil
	}
	issued := c.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.endpoint+tokenPath, nil)
	if err != nil {
		return "", fmt.Errorf("metadata token request: %w", err)
	}
	req.Header.Set(ttlHeader, strconv.Itoa(int(c.ttl/time.Second)))
	status, body, err := c.do(req)
	if err != nil {
		return "", fmt.Errorf("metadata token: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("metadata token: PUT %s: HTTP %d: %s", tokenPath, status, snippet(body))
	}
	tok := strings.TrimSpace(string(body))
	if tok == "" {
		return "", fmt.Errorf("metadata token: PUT %s: empty token", tokenPath)
	}
	c.token, c.renewAt = tok, issued.Add(c.ttl-c.renewBefore())
	return tok, nil
}

// dropToken forgets tok (refused by the service) unless another request
// already replaced it.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// get fetches path with the session token. A 401 (token expired or
// revoked) is answered by one retry with a fresh token. It returns the
// status and body of any answer; err is about not getting one.
func (c *Client) get(ctx context.Context, path string) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.sessionToken(ctx)
		if err != nil {
			return 0, nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+path, nil)
		if err != nil {
			return 0, nil, fmt.Errorf("metadata request %s: %w", path, err)
		}
		req.Header.Set(tokenHeader, tok)
		status, body, err := c.do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("metadata GET %s: %w", path, err)
		}
		if status != http.StatusUnauthorized {
			return status, body, nil
		}
		c.dropToken(tok)
		if attempt == 1 {
			return 0, nil, fmt.Errorf("metadata GET %s: %w", path, ErrUnauthorized)
		}
	}
}

// do sends req and reads at most maxBody bytes of the answer.
func (c *Client) do(req *http.Request) (int, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

// snippet quotes the start of an unexpected answer for an error message.
func snippet(b []byte) string {
	const n = 120
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}
