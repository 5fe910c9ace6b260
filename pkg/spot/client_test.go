package spot

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func TestNoNoticeIs404(t *testing.T) {
	f, srv := newFakeIMDS(t)
	c := testClient(t, f, srv.URL, 0)
	a, err := c.InstanceAction(context.Background())
	if err != nil || a != nil {
		t.Fatalf("InstanceAction = %v, %v; want nil, nil", a, err)
	}
	r, err := c.Rebalance(context.Background())
	if err != nil || r != nil {
		t.Fatalf("Rebalance = %v, %v; want nil, nil", r, err)
	}
	if f.puts != 1 || f.ttls[0] != "21600" {
		t.Fatalf("token requests %d with TTLs %v; want one of 21600 s", f.puts, f.ttls)
	}
}

func TestNoticesAreParsed(t *testing.T) {
	f, srv := newFakeIMDS(t)
	f.set(func(f *fakeIMDS) {
		f.action = `{"action":"terminate","time":"2025-03-14T10:15:00Z"}`
		f.rebalance = `{"noticeTime":"2025-03-14T10:10:00Z"}`
	})
	c := testClient(t, f, srv.URL, time.Minute)
	a, err := c.InstanceAction(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.Action != "terminate" || !a.Time.Equal(time.Date(2025, 3, 14, 10, 15, 0, 0, time.UTC)) {
		t.Fatalf("notice %+v", a)
	}
	r, err := c.Rebalance(context.Background())
	if err != nil || !r.NoticeTime.Equal(time.Date(2025, 3, 14, 10, 10, 0, 0, time.UTC)) {
		t.Fatalf("rebalance %+v, %v", r, err)
	}
	if f.puts != 1 {
		t.Fatalf("%d token requests for two reads; the token must be reused", f.puts)
	}
}

func TestMalformedNoticeIsAnError(t *testing.T) {
	f, srv := newFakeIMDS(t)
	f.set(func(f *fakeIMDS) { f.action = `{"action":"terminate","time":"soon"}` })
	c := testClient(t, f, srv.URL, time.Minute)
	if a, err := c.InstanceAction(context.Background()); err == nil {
		t.Fatalf("a notice with a bad time parsed: %+v", a)
	}
}

func TestTokenIsRenewedBeforeItExpires(t *testing.T) {
	f, srv := newFakeIMDS(t)
	c := testClient(t, f, srv.URL, 8*time.Second) // renewed 2 s before expiry
	ctx := context.Background()
	for _, step := range []time.Duration{0, 3 * time.Second, 2 * time.Second} {
		f.advance(step)
		if _, err := c.InstanceAction(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if f.puts != 1 {
		t.Fatalf("token renewed too early: %d requests after 5 s of an 8 s token", f.puts)
	}
	f.advance(1500 * time.Millisecond) // 6.5 s: within the last 2 s
	if _, err := c.InstanceAction(ctx); err != nil {
		t.Fatal(err)
	}
	if f.puts != 2 {
		t.Fatalf("%d token requests; want a renewal before the 8 s expiry", f.puts)
	}
	if f.ttls[1] != "8" {
		t.Fatalf("renewal asked for TTL %q", f.ttls[1])
	}
}

func TestRefusedTokenIsReplacedOnce(t *testing.T) {
	f, srv := newFakeIMDS(t)
	c := testClient(t, f, srv.URL, time.Hour)
	ctx := context.Background()
	if _, err := c.InstanceAction(ctx); err != nil {
		t.Fatal(err)
	}
	// The service forgets its tokens (e.g. revoked): one 401, a new token, success.
	f.set(func(f *fakeIMDS) {
		f.tokens = map[string]time.Time{}
		f.action = `{"action":"stop","time":"2025-03-14T10:15:00Z"}`
	})
	a, err := c.InstanceAction(ctx)
	if err != nil || a == nil || a.Action != "stop" {
		t.Fatalf("after a revoked token: %+v, %v", a, err)
	}
	if f.puts != 2 {
		t.Fatalf("%d token requests; want exactly one more after the 401", f.puts)
	}
}

func TestPersistent401IsAnError(t *testing.T) {
	f, srv := newFakeIMDS(t)
	f.set(func(f *fakeIMDS) { f.refuseAll = true })
	c := testClient(t, f, srv.URL, time.Hour)
	_, err := c.InstanceAction(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v; want ErrUnauthorized", err)
	}
	if f.puts != 2 || f.gets != 2 {
		t.Fatalf("%d token requests, %d GETs; want 2 and 2 (one retry, no loop)", f.puts, f.gets)
	}
}

func TestServiceDown(t *testing.T) {
	f, srv := newFakeIMDS(t)
	f.set(func(f *fakeIMDS) { f.down = true })
	c := testClient(t, f, srv.URL, time.Hour)
	if _, err := c.InstanceAction(context.Background()); err == nil {
		t.Fatal("no error while the service drops every connection")
	}
	// Nothing listening at all.
	gone := httptest.NewServer(f)
	url := gone.URL
	gone.Close()
	c2 := testClient(t, f, url, time.Hour)
	if _, err := c2.Rebalance(context.Background()); err == nil {
		t.Fatal("no error with nothing listening")
	}
	// Back up: the same client works again.
	f.set(func(f *fakeIMDS) { f.down = false })
	if _, err := c.InstanceAction(context.Background()); err != nil {
		t.Fatalf("after the service came back: %v", err)
	}
}

func TestNewClientChecksItsArguments(t *testing.T) {
	for _, tc := range []struct {
		url string
		ttl time.Duration
	}{{"169.254.169.254", 0}, {"http://x", 7 * time.Hour}, {"http://x", 500 * time.Millisecond}} {
		if _, err := NewClient(tc.url, tc.ttl); err == nil {
			t.Errorf("NewClient(%q, %v) accepted", tc.url, tc.ttl)
		}
	}
	c, err := NewClient("", 0)
	if err != nil || c.endpoint != DefaultEndpoint || c.ttl != DefaultTokenTTL {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}
