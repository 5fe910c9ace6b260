// Package ptyrelay stands in for a caller's runc --console-socket.
//
// A runc create or restore of a container with a terminal connects to the
// console socket once and sends the pty master over it (SCM_RIGHTS). The
// caller (containerd's shim, go-runc) accepts exactly one connection after
// runc returns. When ARCH tries a restore and falls back to a fresh create,
// both would connect to the caller's socket: runc restore sends the master
// as soon as CRIU has re-created the pty, even if the restore fails later,
// and the shim would then take the dead restore's master and never see the
// fresh container's console.
//
// So ARCH gives runc restore a socket of its own (a Relay), receives the
// master there, and hands it on to the caller's socket only once the
// restore has succeeded and is recorded.
package ptyrelay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Relay is a listening console socket in a private folder.
type Relay struct {
	Path string // socket path to hand to runc as --console-socket
	dir  string
	ln   *net.UnixListener
}

// maxName bounds the name runc sends with the master (its path, e.g.
// "/dev/ptmx"); go-runc reads up to 4096 bytes.
const maxName = 4096

// Listen creates a socket in a new folder under tmp ("" = os.TempDir()),
// readable by its owner only. The path stays well under the 108-byte limit
// of a socket address whatever the container id.
func Listen(tmp string) (*Relay, error) {
	dir, err := os.MkdirTemp(tmp, "arch-pty")
	if err != nil {
		return nil, fmt.Errorf("console relay: %w", err)
	}
	path := filepath.Join(dir, "pty.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("console relay: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return &Relay{Path: path, dir: dir, ln: ln}, nil
}

// Console is a pty master received from runc, not yet handed on.
type Console struct {
	name   []byte // what runc sent with it (its path)
	master *os.File
}

// Receive takes the pty master runc sent to the relay, waiting at most
// wait for runc's connection. It fails when runc sent nothing: the caller
// would wait for a console forever.
func (r *Relay) Receive(wait time.Duration) (*Console, error) {
	name, master, err := r.receive(wait)
	if err != nil {
		return nil, err
	}
	return &Console{name: name, master: master}, nil
}

// SendTo hands the console on to the socket at dst (the caller's
// --console-socket) with the name runc gave it.
func (c *Console) SendTo(dst string) error {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: dst, Net: "unix"})
	if err != nil {
		return fmt.Errorf("console relay: connect to the caller's console socket: %w", err)
	}
	defer conn.Close()
	if _, _, err := conn.WriteMsgUnix(c.name, unix.UnixRights(int(c.master.Fd())), nil); err != nil {
		return fmt.Errorf("console relay: send the console to the caller: %w", err)
	}
	return nil
}

// Close releases ARCH's copy of the master (the caller keeps its own).
func (c *Console) Close() error { return c.master.Close() }

// receive accepts runc's connection and reads the master from it.
func (r *Relay) receive(wait time.Duration) ([]byte, *os.File, error) {
	if err := r.ln.SetDeadline(time.Now().Add(wait)); err != nil {
		return nil, nil, fmt.Errorf("console relay: %w", err)
	}
	conn, err := r.ln.AcceptUnix()
	if err != nil {
		return nil, nil, fmt.Errorf("console relay: runc sent no console: %w", err)
	}
	defer conn.Close()
	if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return nil, nil, fmt.Errorf("console relay: %w", err)
	}
	name := make([]byte, maxName)
	oob := make([]byte, unix.CmsgSpace(4*4)) // room for a few fds: close extras
	n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
	if err != nil {
		return nil, nil, fmt.Errorf("console relay: read the console: %w", err)
	}
	fds, err := rights(oob[:oobn])
	if err != nil {
		return nil, nil, err
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	return name[:n], os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// rights returns the file descriptors of an SCM_RIGHTS message (at least one).
func rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("console relay: %w", err)
	}
	var fds []int
	for i := range msgs {
		if got, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) == 0 {
		return nil, errors.New("console relay: runc's message carries no file descriptor")
	}
	return fds, nil
}

// Close stops listening and removes the socket and its folder. A console
// runc sent but nobody forwarded is dropped with the pending connection.
func (r *Relay) Close() error {
	err := r.ln.Close()
	os.RemoveAll(r.dir)
	return err
}
