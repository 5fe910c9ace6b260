package wrapper

import (
	"net"
	"os"
	"testing"
)

func TestConnectedTCPSeesAnEstablishedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// This test's process shares the host's network namespace, where other
	// connections may exist: only "connected" is certain after a connect.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !connectedTCP(os.Getpid()) {
		t.Fatal("an established connection to 127.0.0.1 was not seen")
	}
	if found, ok := connectedIn("/proc/self/net/no-such-file"); found || ok {
		t.Fatal("an unreadable table must say it cannot tell")
	}
	if !connectedTCP(-1) {
		t.Fatal("a process that cannot be read must count as connected")
	}
}

// The sockstat counters decide without the scan only when both say no TCP
// socket at all; anything unreadable or odd leaves it to the scan.
func TestNoTCPSocketsReadsTheNamespaceCounters(t *testing.T) {
	const none = "sockets: used 3\nTCP: inuse 0 orphan 0 tw 2 alloc 0 mem 0\nUDP: inuse 1 mem 0\n"
	const none6 = "TCP6: inuse 0\nUDP6: inuse 0\n"
	for _, tc := range []struct {
		name, v4, v6 string
		want         bool
	}{
		{"no sockets (TIME_WAIT only)", none, none6, true},
		{"an IPv4 socket", "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 1\n", none6, false},
		{"an IPv6 socket", none, "TCP6: inuse 2\n", false},
		{"no IPv6 counters", none, "", false},
		{"malformed count", "TCP: inuse x\n", none6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() + "/"
			if err := os.WriteFile(dir+"sockstat", []byte(tc.v4), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.v6 != "" {
				if err := os.WriteFile(dir+"sockstat6", []byte(tc.v6), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := noTCPSockets(dir); got != tc.want {
				t.Fatalf("noTCPSockets = %v, want %v", got, tc.want)
			}
		})
	}
}
