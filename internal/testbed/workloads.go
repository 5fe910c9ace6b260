package testbed

import (
	_ "embed"
	"fmt"
	"os"
	"testing"
)

// Image references of the test workloads.
const (
	ShellCounterRef = "docker.io/arch-test/shell-counter:latest"
	CCounterRef     = "docker.io/arch-test/c-counter:latest"
	TCPAppRef       = "docker.io/arch-test/tcp-app:latest"
)

// busyboxApplets get a /bin symlink in every test image.
var busyboxApplets = []string{
	"sh", "cat", "echo", "sleep", "mv", "rm", "ls", "ps", "kill", "true",
	"false", "test", "env", "id", "mkdir", "touch", "wc", "grep", "date",
}

// BusyboxFiles is a minimal root file system: the host's static busybox
// with its applets as symlinks, and the usual empty mount points.
func BusyboxFiles(t testing.TB) map[string]File {
	t.Helper()
	files, err := BusyboxFilesFrom("/bin/busybox")
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return files
}

// BusyboxFilesFrom is BusyboxFiles with the static busybox at path.
func BusyboxFilesFrom(path string) (map[string]File, error) {
	bb, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the static busybox (apt-get install busybox-static): %w", err)
	}
	files := map[string]File{
		"/bin/busybox": {Content: bb, Mode: 0o755},
		"/tmp":         {Dir: true, Mode: 0o1777},
		"/proc":        {Dir: true},
		"/sys":         {Dir: true},
		"/dev":         {Dir: true},
		"/etc":         {Dir: true},
		"/root":        {Dir: true, Mode: 0o700},
	}
	for _, a := range busyboxApplets {
		files["/bin/"+a] = File{Link: "busybox"}
	}
	return files, nil
}

// shellCounterScript counts every 100 ms from 1, publishing each value in
// /tmp/count (temp file + rename) and on stdout. As PID 1 it needs a trap to
// honour SIGTERM; it then exits with 143 like a killed shell. It finishes,
// with the status written there, once /tmp/exit exists: a job that ends on
// its own, well or badly.
const shellCounterScript = `trap 'exit 143' TERM
i=0
while true; do
  if [ -f /tmp/exit ]; then exit $(cat /tmp/exit); fi
  i=$((i+1))
  echo $i >/tmp/count.tmp
  mv /tmp/count.tmp /tmp/count
  echo $i
  sleep 0.1
done`

// ShellCounterImage is busybox running the shell counter.
func ShellCounterImage(t testing.TB) Image {
	t.Helper()
	return BuildImage(t, ShellCounterRef, BusyboxFiles(t), ShellCounterConfig)
}

// ShellCounterConfig is the shell counter image's configuration.
var ShellCounterConfig = ImageConfig{
	Entrypoint: []string{"/bin/sh", "-c", shellCounterScript},
	Env:        []string{"PATH=/bin"},
	WorkingDir: "/",
}

//go:embed testdata/c-counter/counter.c
var cCounterSource []byte

// CCounterImage is the static C counter (count in memory) plus busybox for
// `ctr task exec`.
func CCounterImage(t testing.TB) Image {
	t.Helper()
	files := BusyboxFiles(t)
	files["/counter"] = File{Content: CompileStaticC(t, "counter", cCounterSource), Mode: 0o755}
	return BuildImage(t, CCounterRef, files, ImageConfig{
		Entrypoint: []string{"/counter"},
		Env:        []string{"PATH=/bin"},
		WorkingDir: "/",
	})
}

//go:embed testdata/tcp-app/tcpapp.c
var tcpAppSource []byte

// TCPAppPort is the port the TCP app's server listens on.
const TCPAppPort = "7000"

// TCPAppImage is a networked workload: a TCP server, and as PID 1 a client
// holding an established connection to it on 127.0.0.1 (see tcpapp.c),
// plus busybox for `ctr task exec` and /tcpapp probe.
func TCPAppImage(t testing.TB) Image {
	t.Helper()
	files := BusyboxFiles(t)
	files["/tcpapp"] = File{Content: CompileStaticC(t, "tcpapp", tcpAppSource), Mode: 0o755}
	return BuildImage(t, TCPAppRef, files, ImageConfig{
		Entrypoint: []string{"/bin/sh", "-c", "/tcpapp server " + TCPAppPort + " & exec /tcpapp client " + TCPAppPort},
		Env:        []string{"PATH=/bin"},
		WorkingDir: "/",
	})
}
