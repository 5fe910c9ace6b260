package wrapper

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// connectedTCP reports whether the network namespace of process pid holds
// a TCP socket in a connected state (established, or on its way in or out
// of it): what CRIU's tcp-close leaves out of a dump, and what a restore of
// that dump then needs tcp-close for. Listening sockets and TIME_WAIT ones
// (which no process owns) do not count. When it cannot tell, it says yes.
func connectedTCP(pid int) bool {
	proc := "/proc/" + strconv.Itoa(pid) + "/net/"
	if noTCPSockets(proc) {
		return false
	}
	for _, f := range []string{"tcp", "tcp6"} {
		found, ok := connectedIn(proc + f)
		if found || !ok {
			return true
		}
	}
	return false
}

// noTCPSockets reports whether the network namespace whose /proc/PID/net/
// folder is proc has no TCP socket at all, from its sockstat counters: a
// read of /proc/net/tcp walks the kernel's whole connection hash table,
// however few sockets the namespace has (about 9 ms per checkpoint here),
// and most batch containers have no socket. TIME_WAIT sockets are not in
// the counters, and do not count for connectedTCP either. When it cannot
// tell, it says no (the full scan decides).
func noTCPSockets(proc string) bool {
	for _, f := range []struct{ file, label string }{{"sockstat", "TCP:"}, {"sockstat6", "TCP6:"}} {
		if n, ok := socketsInUse(proc+f.file, f.label); !ok || n != 0 {
			return false
		}
	}
	return true
}

// socketsInUse reads the "inuse" count of the line starting with label in
// a sockstat file ("TCP: inuse 3 orphan 0 tw 1 alloc 4 mem 1").
func socketsInUse(path, label string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == label && f[1] == "inuse" {
			n, err := strconv.Atoi(f[2])
			return n, err == nil
		}
	}
	return 0, false
}

// connectedStates are the st column values of /proc/net/tcp that count:
// ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT,
// LAST_ACK, CLOSING.
var connectedStates = map[string]bool{"01": true, "02": true, "03": true, "04": true, "05": true, "08": true, "09": true, "0B": true}

// connectedIn scans one /proc/net/tcp{,6} file; ok is false when it cannot
// be read.
func connectedIn(path string) (found, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 3 && connectedStates[strings.ToUpper(fields[3])] {
			return true, true
		}
	}
	return false, sc.Err() == nil
}
