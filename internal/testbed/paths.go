package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DaemonPath is the PATH of every process the test bed starts: the active
// stack's folder first (its containerd, shim, ctr and runc), then the CRIU
// launcher install-deps.sh writes in /usr/local/sbin, which must win over
// Debian's own criu (runc looks criu up in PATH).
var DaemonPath = daemonPath(ActiveStack)

func daemonPath(s Stack) string {
	p := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if s.Bin != "" {
		p = s.Bin + ":" + p
	}
	return p
}

// LookPath finds an executable in DaemonPath (not in the test's own PATH, so
// that what the tests check is what containerd, the shim and runc will use).
func LookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	for _, dir := range filepath.SplitList(DaemonPath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

// baseEnv is the environment of the processes the test bed starts.
func baseEnv() []string {
	env := []string{"PATH=" + DaemonPath, "HOME=/root", "LANG=C"}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return env
}
