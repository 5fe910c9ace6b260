package spot

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeIMDS is an IMDSv2 double: session tokens with a lifetime on its own
// clock, the two notice documents, and switches for failures.
type fakeIMDS struct {
	mu        sync.Mutex
	now       time.Time
	tokens    map[string]time.Time // token -> expiry
	puts      int
	ttls      []string
	action    string // body of instance-action; "" = 404
	rebalance string // body of the rebalance recommendation; "" = 404
	refuseAll bool   // every GET answers 401
	down      bool   // connections are dropped without an answer
	gets      int
}

func newFakeIMDS(t *testing.T) (*fakeIMDS, *httptest.Server) {
	f := &fakeIMDS{now: time.Unix(1_700_000_000, 0), tokens: map[string]time.Time{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeIMDS) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeIMDS) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeIMDS) set(fn func(f *fakeIMDS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeIMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if r.URL.Path == tokenPath {
		f.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	f.gets++
	exp, ok := f.tokens[r.Header.Get(tokenHeader)]
	if f.refuseAll || !ok || !f.now.Before(exp) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body := map[string]string{actionPath: f.action, rebalancePath: f.rebalance}[r.URL.Path]
	if body == "" {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, body)
}

func (f *fakeIMDS) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	ttl := r.Header.Get(ttlHeader)
	f.ttls = append(f.ttls, ttl)
	secs, err := strconv.Atoi(ttl)
	if err != nil || secs < 1 || secs > 21600 {
		http.Error(w, "bad ttl", http.StatusBadRequest)
		return
	}
	f.puts++
	tok := fmt.Sprintf("token-%d", f.puts)
	f.tokens[tok] = f.now.Add(time.Duration(secs) * time.Second)
	fmt.Fprint(w, tok)
}

// testClient is a client of srv on f's clock.
func testClient(t *testing.T, f *fakeIMDS, url string, ttl time.Duration) *Client {
	t.Helper()
	c, err := NewClient(url, ttl)
	if err != nil {
		t.Fatal(err)
	}
	c.now = f.clock
	return c
}
