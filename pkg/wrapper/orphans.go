package wrapper

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// When runc restore fails after CRIU has already brought the process tree
// back (CRIU reporting failure at its very end, runc failing after its
// post-restore step), runc forgets the container but does not kill that
// tree: it lives on in its own PID namespace, out of containerd's sight,
// next to the fresh container ARCH then creates. So during a restore ARCH
// is a child subreaper: what CRIU leaves behind becomes ARCH's child, and a
// failed restore kills it. After a successful one ARCH exits and the
// restored init passes on to the shim, its usual parent.

// becomeSubreaper makes ARCH the subreaper of its descendants until the
// returned func is called.
func becomeSubreaper(log *zerolog.Logger) func() {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.Warn().Err(err).Msg("restore: cannot become a child subreaper; a late restore failure may leave processes behind")
		return func() {}
	}
	// The setting survives execve: runc create must not inherit it.
	return func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) }
}

// killOrphans kills and reaps every child process ARCH still has: after
// runc has exited, those are what a failed restore left behind.
func killOrphans(log *zerolog.Logger) {
	pids := children()
	for _, pid := range pids {
		unix.Kill(pid, unix.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for {
			got, err := unix.Wait4(pid, nil, unix.WNOHANG, nil)
			if got == pid || err != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if len(pids) > 0 {
		log.Warn().Ints("pids", pids).Msg("restore: killed the processes the failed restore left behind")
	}
}

// children lists the child processes of every thread of ARCH.
func children() []int {
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(os.Getpid()) + "/task/*/children")
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(field); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
