package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/layer"
)

// DefaultLayerWalkTimeout bounds the walk of one container's writable
// layer: the layer is "unknown" when the walk takes longer. Walking the
// 10,000 files of the bench's fingerprint image takes 40 ms.
const DefaultLayerWalkTimeout = 5 * time.Second

// maxLayerDepth is how deep the walk goes (each level holds a descriptor);
// a deeper layer is "unknown".
const maxLayerDepth = 256

// sparseMinHole is pkg/layer's threshold: a file with at least this much
// of holes is captured as sparse, its data only.
const sparseMinHole = 64 << 10

// Layer is the size of a container's writable layer, which a checkpoint
// captures (rootfs-diff.tar in the image).
type Layer struct {
	Upper string // the overlay's upperdir; "" when the rootfs is no overlay
	Bytes int64  // file data: regular files once per inode, sparse ones by their data
	Files int64  // entries (files, folders, links, ...)
	// Note says why Bytes is 0 without a walk: a rootfs that is no overlay
	// has no writable layer ARCH captures.
	Note string
}

// ContainerLayer measures the writable layer of the container whose init
// process is pid: the upperdir of the overlay mounted at its root, as its
// own mount table (/proc/<pid>/mountinfo) shows it. That is the mount the
// checkpoint captures (arch-wrapper finds the same overlay at the bundle's
// rootfs), and it needs neither the bundle's path nor containerd's
// snapshotter. The walk is bounded by timeout and never follows a symlink.
func ContainerLayer(ctx context.Context, pid int, timeout time.Duration) (Layer, error) {
	if pid <= 0 {
		return Layer{}, errors.New("no process id for the task")
	}
	upper, err := rootUpperDir("/proc", pid)
	if errors.Is(err, layer.ErrNotOverlay) {
		return Layer{Note: err.Error() + ": ARCH captures no files"}, nil
	}
	if err != nil {
		return Layer{}, err
	}
	return WalkLayer(ctx, upper, timeout)
}

// rootUpperDir returns the upperdir of the overlay at "/" in the mount
// table of process pid (the last mount there: the one its processes see).
func rootUpperDir(proc string, pid int) (string, error) {
	f, err := os.Open(path.Join(proc, strconv.Itoa(pid), "mountinfo"))
	if err != nil {
		return "", fmt.Errorf("read the container's mount table: %w", err)
	}
	defer f.Close()
	mounts, err := mountinfo.GetMountsFromReader(f, mountinfo.SingleEntryFilter("/"))
	if err != nil {
		return "", fmt.Errorf("read the container's mount table %s: %w", f.Name(), err)
	}
	if len(mounts) == 0 {
		return "", fmt.Errorf("%w: nothing is mounted at the container's root", layer.ErrNotOverlay)
	}
	m := mounts[len(mounts)-1]
	if m.FSType != "overlay" {
		return "", fmt.Errorf("%w: the container's root is %s", layer.ErrNotOverlay, m.FSType)
	}
	ov, err := layer.ParseOverlay("/", m.VFSOptions)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(ov.Upper) {
		return "", fmt.Errorf("the container's overlay has a relative upperdir %q", ov.Upper)
	}
	return ov.Upper, nil
}

// WalkLayer adds up the writable layer at upper (a host folder the mount
// table named): the data of its regular files, each inode once (hardlinks
// are captured as links), a file with holes by its allocated blocks (the
// capture stores it sparse; an overlay metacopy file, which has no blocks
// of its own, counts as holes). Every entry is reached relative to its
// folder's descriptor and opened with O_NOFOLLOW: a symlink is counted as
// an entry and never followed, also when a running container swaps a
// folder for one during the walk, and nothing on another filesystem is
// counted. The walk fails when it takes longer than timeout or ctx ends.
func WalkLayer(ctx context.Context, upper string, timeout time.Duration) (Layer, error) {
	fd, err := unix.Open(upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Layer{}, fmt.Errorf("open the writable layer %s: %w", upper, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return Layer{}, fmt.Errorf("stat the writable layer %s: %w", upper, err)
	}
	w := &layerWalk{ctx: ctx, deadline: time.Now().Add(timeout), timeout: timeout, dev: st.Dev,
		links: map[[2]uint64]bool{}, l: Layer{Upper: upper}}
	if err := w.dir(fd, 0); err != nil {
		return Layer{}, fmt.Errorf("walk the writable layer %s (%d entries, %s so far): %w", upper, w.l.Files, formatSize(w.l.Bytes), err)
	}
	return w.l, nil
}

type layerWalk struct {
	ctx      context.Context
	deadline time.Time
	timeout  time.Duration
	dev      uint64
	links    map[[2]uint64]bool // inodes with several names already counted
	l        Layer
}

// dir walks the folder open as fd, depth levels below the layer's root,
// and closes fd.
func (w *layerWalk) dir(fd, depth int) error {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	for {
		names, rerr := f.Readdirnames(1024)
		for _, name := range names {
			if err := w.entry(fd, name, depth); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read a folder: %w", rerr)
		}
	}
}

// entry counts one entry of the folder open as fd.
func (w *layerWalk) entry(fd int, name string, depth int) error {
	if w.l.Files%64 == 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(w.deadline) {
			return fmt.Errorf("not done within %v", w.timeout)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil // removed meanwhile
		}
		return fmt.Errorf("stat %s: %w", name, err)
	}
	w.l.Files++
	if st.Dev != w.dev {
		return nil // not the layer's filesystem
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if st.Nlink > 1 {
			k := [2]uint64{st.Dev, st.Ino}
			if w.links[k] {
				return nil
			}
			w.links[k] = true
		}
		w.l.Bytes += dataBytes(&st)
	case unix.S_IFDIR:
		if depth >= maxLayerDepth {
			return fmt.Errorf("folders nested deeper than %d", maxLayerDepth)
		}
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == unix.ENOENT, err == unix.ELOOP, err == unix.ENOTDIR:
			return nil // removed or replaced (by a symlink: not followed) since the stat
		case err != nil:
			return fmt.Errorf("open folder %s: %w", name, err)
		}
		return w.dir(sub, depth+1)
	}
	return nil // symlinks, devices, fifos, sockets: no data
}

// dataBytes is what the capture writes of a regular file's data.
func dataBytes(st *unix.Stat_t) int64 {
	if alloc := st.Blocks * 512; st.Size-alloc >= sparseMinHole {
		return alloc
	}
	return st.Size
}
