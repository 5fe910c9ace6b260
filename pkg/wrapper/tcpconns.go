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
	for _, f := range []string{"tcp", "tcp6"} {
		found, ok := connectedIn("/proc/" + strconv.Itoa(pid) + "/net/" + f)
		if found || !ok {
			return true
		}
	}
	return false
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
