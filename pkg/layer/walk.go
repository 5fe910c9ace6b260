package layer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// entry is one item of the writable layer, found by the walker and
// written to the archive by Capture, in walk order.
type entry struct {
	rel    string // relative container path, "" for the root
	st     unix.Stat_t
	xattrs []xattr // the ones that travel (keepXattr)
	typ    byte    // tar typeflag
	link   string  // symlink target, or hardlink's first name
	fd     int     // open regular file to copy data from, -1 otherwise
	exts   []extent
	sparse bool
	data   *[]byte // content of a small file, read by the walker
	err    error
}

// smallFile is the size up to which the walker reads a file's content
// itself, so that reading and writing the archive run on two cores.
const smallFile = 64 << 10

var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallFile); return &b }}

type devIno struct{ dev, ino uint64 }

// walker walks the upperdir in sorted depth-first order and turns what it
// finds into entries and deletions.
type walker struct {
	ctx     context.Context
	ov      *Overlay
	exclude []string // clean relative paths
	xr      xattrReader
	lower   lowerStack
	links   map[devIno]string
	deleted []string
	out     chan<- *entry
}

// alwaysExcluded are the kernel filesystems' mount points: never captured.
var alwaysExcluded = []string{"proc", "sys", "dev"}

func newWalker(ctx context.Context, ov *Overlay, opt CaptureOptions, out chan<- *entry) *walker {
	w := &walker{ctx: ctx, ov: ov, out: out, links: map[devIno]string{}}
	w.lower.layers = ov.Lower
	w.exclude = append(w.exclude, alwaysExcluded...)
	for _, e := range opt.Exclude {
		if c := path.Clean("/" + e); c != "/" {
			w.exclude = append(w.exclude, c[1:])
		}
	}
	return w
}

func (w *walker) excluded(rel string) bool {
	for _, e := range w.exclude {
		if rel == e || (strings.HasPrefix(rel, e) && rel[len(e)] == '/') {
			return true
		}
	}
	return false
}

// run walks the whole layer; it reports a failure as a last entry with err.
func (w *walker) run() {
	defer close(w.out)
	if err := w.walkRoot(); err != nil {
		select {
		case w.out <- &entry{err: err, fd: -1}:
		case <-w.ctx.Done():
		}
	}
}

func (w *walker) send(e *entry) error {
	select {
	case w.out <- e:
		return nil
	case <-w.ctx.Done():
		if e.fd >= 0 {
			unix.Close(e.fd)
		}
		return w.ctx.Err()
	}
}

func (w *walker) walkRoot() error {
	e, xs, err := w.stat(w.ov.Upper, "")
	if err != nil {
		return err
	}
	e.typ = '5'
	if err := w.send(e); err != nil {
		return err
	}
	return w.dir(w.ov.Upper, "", xs, false)
}

// stat builds the entry of base/rel without opening anything.
func (w *walker) stat(base, rel string) (*entry, []xattr, error) {
	full := base
	if rel != "" {
		full = base + "/" + rel
	}
	e := &entry{rel: rel, fd: -1}
	if err := unix.Lstat(full, &e.st); err != nil {
		return nil, nil, fmt.Errorf("lstat %s: %w", full, err)
	}
	xs, err := w.xr.list(full)
	if err != nil {
		return nil, nil, err
	}
	for _, x := range xs {
		if keepXattr(x.Name) {
			e.xattrs = append(e.xattrs, x)
		}
	}
	return e, xs, nil
}

// dir handles the directory rel (already sent): its deletions if it hides
// lower content, then its children. base is the upperdir, or the merged
// view below a renamed (redirected) directory, where overlay's markers do
// not show. hidden means an ancestor hides the lower layers already, so
// its deletions are known.
func (w *walker) dir(base, rel string, xs []xattr, hidden bool) error {
	if !hidden && base == w.ov.Upper {
		if _, redirected := overlayXattr(xs, "redirect"); redirected {
			if w.ov.Mountpoint == "" {
				return fmt.Errorf("%s is a renamed lower directory and the merged view is unknown", rel)
			}
			if err := w.hide(rel, w.ov.Mountpoint); err != nil {
				return err
			}
			return w.children(w.ov.Mountpoint, rel, true)
		}
		if isOpaque(xs) {
			if err := w.hide(rel, w.ov.Upper); err != nil {
				return err
			}
			hidden = true
		}
	}
	return w.children(base, rel, hidden)
}

// hide records as deleted what the lower layers have below rel and base
// (upperdir or merged view) does not.
func (w *walker) hide(rel, base string) error {
	has := func(p string) (bool, bool) {
		var st unix.Stat_t
		if unix.Lstat(base+"/"+p, &st) != nil {
			return false, false
		}
		return true, st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	gone, err := w.lower.hiddenByOpaque(rel, has)
	if err != nil {
		return fmt.Errorf("list lower content under opaque %s: %w", rel, err)
	}
	for _, g := range gone {
		if !w.excluded(g[1:]) {
			w.deleted = append(w.deleted, g)
		}
	}
	return nil
}

func (w *walker) children(base, rel string, hidden bool) error {
	dir := base
	if rel != "" {
		dir = base + "/" + rel
	}
	names, err := readNames(dir)
	if err != nil {
		return err
	}
	merged := base != w.ov.Upper
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		r := joinRel(rel, name)
		if w.excluded(r) {
			continue
		}
		e, xs, err := w.stat(base, r)
		if err != nil {
			return err
		}
		if !merged && isWhiteout(&e.st, xs) {
			w.deleted = append(w.deleted, "/"+r)
			continue
		}
		switch e.st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			e.typ = '5'
			if err := w.send(e); err != nil {
				return err
			}
			if err := w.dir(base, r, xs, hidden || merged); err != nil {
				return err
			}
			continue
		case unix.S_IFREG:
			if err := w.regular(base, e, xs, merged); err != nil {
				return err
			}
		case unix.S_IFLNK:
			e.typ = '2'
			if e.link, err = os.Readlink(base + "/" + r); err != nil {
				return fmt.Errorf("readlink: %w", err)
			}
		case unix.S_IFCHR:
			e.typ = '3'
		case unix.S_IFBLK:
			e.typ = '4'
		case unix.S_IFIFO:
			e.typ = '6'
		default:
			continue // sockets: CRIU recreates them
		}
		if err := w.send(e); err != nil {
			return err
		}
	}
	return nil
}

// regular opens a file for the writer, or makes it a hardlink entry when
// its inode was already sent under another name.
func (w *walker) regular(base string, e *entry, xs []xattr, merged bool) error {
	if e.st.Nlink > 1 {
		k := devIno{e.st.Dev, e.st.Ino}
		if first, ok := w.links[k]; ok {
			e.typ, e.link = '1', first
			return nil
		}
		w.links[k] = e.rel
	}
	e.typ = '0'
	src := base + "/" + e.rel
	if _, meta := overlayXattr(xs, "metacopy"); meta && !merged {
		// metadata-only copy-up: the data is still in a lower layer
		if w.ov.Mountpoint == "" {
			return fmt.Errorf("%s: metacopy file and the merged view is unknown", e.rel)
		}
		src = w.ov.Mountpoint + "/" + e.rel
	}
	fd, err := unix.Open(src, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Open(src, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	e.fd = fd
	if e.st.Size <= smallFile {
		b := smallBufs.Get().(*[]byte)
		*b = (*b)[:e.st.Size]
		err := preadFull(fd, *b, 0)
		unix.Close(fd)
		e.fd = -1
		if err != nil {
			smallBufs.Put(b)
			return fmt.Errorf("read %s: %w", src, err)
		}
		e.data = b
		return nil
	}
	if e.st.Size-e.st.Blocks*512 >= sparseMinHole {
		exts, ok, err := dataExtents(fd, e.st.Size)
		if err != nil {
			unix.Close(fd)
			return fmt.Errorf("%s: %w", src, err)
		}
		e.exts, e.sparse = exts, ok
	}
	return nil
}

// readNames lists a directory sorted by name.
func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	slices.Sort(names)
	return names, nil
}
