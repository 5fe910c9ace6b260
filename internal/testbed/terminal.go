package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Terminal is `ctr run --tty` attached to a task, on a pseudo-terminal of
// the test's: what the task writes on its console is what a user at that
// terminal would read.
type Terminal struct {
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	read   chan struct{} // closed when the master reads EOF or EIO
	exited chan struct{} // closed when ctr has exited
	err    error         // ctr's exit, valid once exited is closed
}

// RunTerminal starts container id with a terminal (ctr run --tty, not
// detached: ctr stays attached until the task exits, then deletes it).
// o.Detach and o.LogFile are ignored: a terminal's output is the console's.
func (in *Instance) RunTerminal(ns, ref, id string, o RunOpts) (*Terminal, error) {
	bin, err := LookPath("ctr")
	if err != nil {
		return nil, err
	}
	o.Detach, o.LogFile = false, "-"
	o.Args = append([]string{"--tty"}, o.Args...)
	master, slave, err := OpenPty()
	if err != nil {
		return nil, err
	}
	defer slave.Close()
	cmd := exec.Command(bin, append([]string{"-a", in.Address, "-n", ns}, in.runArgs(ns, ref, id, o)...)...)
	cmd.Env, cmd.Dir = in.Env, in.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		master.Close()
		return nil, fmt.Errorf("ctr run --tty %s: %w", id, err)
	}
	term := &Terminal{cmd: cmd, master: master, read: make(chan struct{}), exited: make(chan struct{})}
	go term.copy()
	go func() { term.err = cmd.Wait(); close(term.exited) }()
	return term, nil
}

// copy keeps what arrives on the terminal.
func (term *Terminal) copy() {
	defer close(term.read)
	buf := make([]byte, 4096)
	for {
		n, err := term.master.Read(buf)
		term.mu.Lock()
		term.out.Write(buf[:n])
		term.mu.Unlock()
		if err != nil {
			return // EIO once ctr, the last holder of the slave, is gone
		}
	}
}

// Output is everything the terminal has shown so far.
func (term *Terminal) Output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// Wait waits until ctr has exited (its task ended) and returns its error.
func (term *Terminal) Wait(timeout time.Duration) error {
	select {
	case <-term.exited:
	case <-time.After(timeout):
		return fmt.Errorf("ctr run --tty still attached after %v", timeout)
	}
	select {
	case <-term.read:
	case <-time.After(timeout):
	}
	return term.err
}

// Close kills ctr if it is still attached and releases the terminal.
func (term *Terminal) Close() {
	select {
	case <-term.exited:
	default:
		term.cmd.Process.Kill()
		<-term.exited
	}
	term.master.Close()
}
