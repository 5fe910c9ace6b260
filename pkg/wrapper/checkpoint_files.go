package wrapper

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/realrunc"
	"github.com/arch-ckpt/arch/pkg/state"
)

// stdioWithStatusFd inherits stdio and, when the caller passed
// --status-fd N (go-runc hands fd 3 as an extra file), the descriptors up to
// N, at the same numbers. They are the wrapper's own descriptors, borrowed:
// the child gets duplicates, owned by the returned Files (an *os.File
// closes its descriptor when it is collected), which closeFiles releases.
func (c *call) stdioWithStatusFd() (realrunc.Stdio, error) {
	stdio := realrunc.Inherit()
	v, ok := c.cmd.Get("status-fd")
	if !ok {
		return stdio, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1024 {
		return stdio, fmt.Errorf("--status-fd %q is not a descriptor number", v)
	}
	for fd := 3; fd <= n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			stdio.ExtraFiles = append(stdio.ExtraFiles, nil)
			continue
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			closeFiles(stdio.ExtraFiles)
			return stdio, fmt.Errorf("--status-fd: duplicate descriptor %d: %w", fd, err)
		}
		stdio.ExtraFiles = append(stdio.ExtraFiles, os.NewFile(uintptr(dup), "fd"+strconv.Itoa(fd)))
	}
	return stdio, nil
}

// closeFiles closes the files that are not nil.
func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// copyDumpLog gives the caller's --work-path CRIU's dump.log, where
// containerd looks for it when a checkpoint fails.
func (c *call) copyDumpLog(staging string) {
	work, ok := c.cmd.Get("work-path")
	if !ok || work == "" {
		return
	}
	src := filepath.Join(staging, "work", "dump.log")
	if _, err := os.Stat(src); err != nil {
		src = filepath.Join(staging, "dump.log")
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return
	}
	linkOrCopy(src, filepath.Join(work, "dump.log"))
}

// fillCallerImagePath gives the caller's --image-path the committed
// image m: containerd and Docker archive that folder as their own
// checkpoint without checking it. A containerd caller with exit semantics
// gets a reference to ARCH's image (imageref.go), which a restore from
// that checkpoint brings back to ARCH; any other caller gets the same
// dump, as hardlinks where the filesystem allows and copies otherwise.
func (c *call) fillCallerImagePath(staging string, rec *state.Record, m *ckpt.Manifest) error {
	dst, ok := c.cmd.Get("image-path")
	if !ok || dst == "" {
		return nil
	}
	if c.givesImageRef() {
		return writeImageRef(dst, imageRef{
			FormatVersion: imageRefVersion, Key: rec.Key, ImageID: m.ImageID,
			Store: rec.Store, CheckpointedAt: m.CheckpointedAt,
		})
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	src := filepath.Join(staging, "checkpoint")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return linkOrCopy(p, target)
	})
	if err != nil {
		return err
	}
	stats := filepath.Join(staging, "stats-dump")
	if _, err := os.Stat(stats); err == nil {
		return linkOrCopy(stats, filepath.Join(dst, "stats-dump"))
	}
	return nil
}

// linkOrCopy hardlinks src to dst, or copies it across filesystems.
func linkOrCopy(src, dst string) error {
	os.Remove(dst)
	err := os.Link(src, dst)
	if err == nil || !errors.Is(err, unix.EXDEV) && !errors.Is(err, unix.EPERM) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
