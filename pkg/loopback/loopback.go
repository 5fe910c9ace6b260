// Package loopback brings up the loopback interface of a process's network
// namespace. runc creates a container's network namespace with "lo" up,
// but `runc restore` does not (containerd#4683, criu#590): a restored
// server on 127.0.0.1 would answer "Network is unreachable".
package loopback

import (
	"fmt"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Up sets "lo" up in the network namespace of process pid. It reports
// whether it changed anything (false when lo was up already).
func Up(pid int) (changed bool, err error) {
	if pid <= 0 {
		return false, fmt.Errorf("loopback: no process (pid %d)", pid)
	}
	ns, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("loopback: network namespace of %d: %w", pid, err)
	}
	defer unix.Close(ns)
	type result struct {
		changed bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		// The thread enters the namespace, and is handed back to the
		// runtime only once it is back in its own; otherwise the goroutine
		// exits still locked and the runtime retires the thread.
		runtime.LockOSThread()
		own, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{err: fmt.Errorf("loopback: own network namespace: %w", err)}
			return
		}
		defer unix.Close(own)
		if err := unix.Setns(ns, unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("loopback: enter the network namespace of %d: %w", pid, err)}
			return
		}
		changed, err := setUp("lo")
		if unix.Setns(own, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{changed, err}
	}()
	r := <-done
	return r.changed, r.err
}

// setUp sets the interface name up in the calling thread's network
// namespace.
func setUp(name string) (bool, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("loopback: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return false, fmt.Errorf("loopback: flags of %s: %w", name, err)
	}
	flags := ifr.Uint16()
	if flags&unix.IFF_UP != 0 {
		return false, nil
	}
	ifr.SetUint16(flags | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return false, fmt.Errorf("loopback: set %s up: %w", name, err)
	}
	return true, nil
}
