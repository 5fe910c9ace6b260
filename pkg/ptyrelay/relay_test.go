package ptyrelay

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// openPty returns a new pty's master and slave.
func openPty(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	master, slave, err := testbed.OpenPty()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	return master, slave
}

// sendLikeRunc connects to path and sends f with its name, as runc does.
func sendLikeRunc(t *testing.T, path string, f *os.File) {
	t.Helper()
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := conn.WriteMsgUnix([]byte("/dev/ptmx"), unix.UnixRights(int(f.Fd())), nil); err != nil {
		t.Fatal(err)
	}
}

// callerSocket listens like go-runc's console socket and returns the path
// and a channel that yields the name and file it receives.
func callerSocket(t *testing.T) (string, chan received) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "caller.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan received, 1)
	go func() {
		conn, err := ln.AcceptUnix()
		if err != nil {
			got <- received{err: err}
			return
		}
		defer conn.Close()
		name, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
		if err != nil {
			got <- received{err: err}
			return
		}
		fds, err := rights(oob[:oobn])
		if err != nil {
			got <- received{err: err}
			return
		}
		got <- received{name: string(name[:n]), f: os.NewFile(uintptr(fds[0]), "received")}
	}()
	return path, got
}

type received struct {
	name string
	f    *os.File
	err  error
}

func TestTheCallerGetsTheSamePty(t *testing.T) {
	master, slave := openPty(t)
	r, err := Listen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.Path) >= 108 {
		t.Fatalf("socket path %q too long for a socket address", r.Path)
	}
	// runc sends before it exits; ARCH forwards after runc returned.
	sendLikeRunc(t, r.Path, master)
	dst, got := callerSocket(t)
	console, err := r.Receive(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case rec := <-got:
		t.Fatalf("the caller got a console before it was sent: %+v", rec)
	default:
	}
	if err := console.SendTo(dst); err != nil {
		t.Fatal(err)
	}
	console.Close()
	rec := <-got
	if rec.err != nil {
		t.Fatal(rec.err)
	}
	defer rec.f.Close()
	if rec.name != "/dev/ptmx" {
		t.Fatalf("caller got name %q, want runc's /dev/ptmx", rec.name)
	}
	// What the container writes on its terminal reaches the caller's master.
	if _, err := slave.Write([]byte("count 42\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	rec.f.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := rec.f.Read(buf)
	if err != nil || !bytes.Contains(buf[:n], []byte("count 42")) {
		t.Fatalf("caller's master read %q, %v", buf[:n], err)
	}
}

func TestReceiveFailsWhenRuncSentNothing(t *testing.T) {
	r, err := Listen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Receive(50 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "runc sent no console") {
		t.Fatalf("Receive without a console = %v", err)
	}
}

func TestCloseDropsAnUnforwardedConsoleAndCleansUp(t *testing.T) {
	master, _ := openPty(t)
	r, err := Listen(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sendLikeRunc(t, r.Path, master)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.dir); !os.IsNotExist(err) {
		t.Fatalf("relay folder left behind: %v", err)
	}
}
