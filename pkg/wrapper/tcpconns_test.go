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
