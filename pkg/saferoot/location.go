package saferoot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// FenceName is the file ARCH keeps in every folder that holds tenants'
// work dirs (<shared>/work). No tenant can write that folder (only the
// work dirs below it are mounted into containers), so no tenant can remove
// the fence; and a Location is never resolved through a fenced folder:
// whatever name reaches it (a case-insensitive file system's "WORK", a
// hard-to-see Unicode twin), what lies below it is some tenant's.
const FenceName = ".arch-tenant-workdirs"

// Location is a host folder named in two parts: Root, which the node
// operator chose and which is opened as the system resolves it, and Rel
// below it, which may come from a tenant and is resolved without following
// any symlink and without passing through a fenced folder.
type Location struct {
	Root string
	Rel  string // "" is Root itself; else clean, relative, slash-separated, no ".."
	// CreateRoot lets MkdirAll create a missing Root (the node's own
	// folders). A missing allowed root is a mount that is not there: a
	// folder created in its place would hide it.
	CreateRoot bool
	// Fenced: the location is itself a folder of tenants' work dirs, which
	// carries the fence (MkdirAll puts it there). Any other location whose
	// last folder is fenced is refused too.
	Fenced bool
}

// Trusted is the location of a folder whose whole path the operator chose.
func Trusted(p string) Location { return Location{Root: path.Clean(p), CreateRoot: true} }

// Path is the location's host path.
func (l Location) Path() string { return path.Join(l.Root, l.Rel) }

func (l Location) String() string { return l.Path() }

// Join is the location of the folder elem... below l. Each elem must be a
// single safe name (callers pass escaped keys and fixed names).
func (l Location) Join(elem ...string) Location {
	rel := path.Join(append([]string{l.Rel}, elem...)...)
	if rel == "." {
		rel = ""
	}
	return Location{Root: l.Root, Rel: rel, CreateRoot: l.CreateRoot}
}

// Open opens the existing folder.
func (l Location) Open() (*Dir, error) { return l.resolve(false, 0) }

// MkdirAll opens the folder, creating what is missing of Rel (and of Root
// when CreateRoot is set): the folder itself with perm, those on the way
// with IntermediatePerm. A Fenced location gets its fence.
func (l Location) MkdirAll(perm os.FileMode) (*Dir, error) {
	if l.CreateRoot {
		if err := os.MkdirAll(l.Root, perm); err != nil {
			return nil, err
		}
	}
	d, err := l.resolve(true, perm)
	if err != nil || !l.Fenced {
		return d, err
	}
	if err := d.putFence(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// resolve opens the location one folder at a time from its root, creating
// missing folders with create, and refusing a symlink, a non-folder or a
// fenced folder on the way.
func (l Location) resolve(create bool, perm os.FileMode) (*Dir, error) {
	cur, err := OpenTrusted(l.Root)
	if err != nil {
		return nil, err
	}
	var comps []string
	if l.Rel != "" {
		if err := checkRel(l.Rel); err != nil {
			cur.Close()
			return nil, err
		}
		comps = strings.Split(l.Rel, "/")
	}
	for i, c := range comps {
		if c == "." {
			continue
		}
		if err := cur.refuseFence(); err != nil {
			cur.Close()
			return nil, err
		}
		var next *Dir
		if create {
			p := os.FileMode(IntermediatePerm)
			if i == len(comps)-1 {
				p = perm
			}
			next, err = cur.mkdirOpen(c, p)
		} else {
			next, err = cur.OpenDir(c)
		}
		cur.Close()
		if err != nil {
			return nil, err
		}
		cur = next
	}
	if !l.Fenced {
		if err := cur.refuseFence(); err != nil {
			cur.Close()
			return nil, err
		}
	}
	return cur, nil
}

// Check resolves as much of the location as exists, without creating
// anything: nil when every existing component below Root is a real,
// unfenced folder (what is missing, MkdirAll will create), an error
// wrapping ErrUnsafe at the first symlink, non-folder or fence, and one
// wrapping fs.ErrNotExist when Root itself is missing and may not be
// created.
func (l Location) Check() error {
	_, err := l.Open()
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, rerr := os.Stat(l.Root); rerr != nil {
		if l.CreateRoot {
			return nil
		}
		return err
	}
	// Something below the root is missing: check the part that exists.
	comps := strings.Split(l.Rel, "/")
	for n := len(comps) - 1; n >= 0; n-- {
		part := Location{Root: l.Root, Rel: strings.Join(comps[:n], "/")}
		d, perr := part.Open()
		if perr == nil {
			d.Close()
			return nil
		}
		if !errors.Is(perr, fs.ErrNotExist) {
			return perr
		}
	}
	return nil
}

// refuseFence fails when d holds tenants' work dirs.
func (d *Dir) refuseFence() error {
	var st unix.Stat_t
	err := unix.Fstatat(d.fd(), FenceName, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look for %s in %s: %w", FenceName, d.path, err)
	}
	return fmt.Errorf("%w: %s holds tenants' work dirs (it has %s): no ARCH folder may lie in or below it", ErrUnsafe, d.path, FenceName)
}

// putFence marks d as a folder of tenants' work dirs.
func (d *Dir) putFence() error {
	f, err := d.OpenFile(FenceName, os.O_WRONLY|os.O_CREATE, 0o444)
	if err != nil {
		return fmt.Errorf("mark %s as a folder of work dirs: %w", d.path, err)
	}
	return f.Close()
}
