package layer

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// xattr is one extended attribute, in listing order.
type xattr struct {
	Name  string
	Value string
}

// paxXattrPrefix is how tar (GNU tar, Go's archive/tar, Podman) stores
// extended attributes in PAX records.
const paxXattrPrefix = "SCHILY.xattr."

// keepXattr tells which attributes travel with the layer: user.*, trusted.*
// and security.capability, POSIX ACLs, but never overlay's own bookkeeping
// (trusted.overlay.*, user.overlay.*) nor LSM labels, which belong to the
// new container's context.
func keepXattr(name string) bool {
	switch {
	case isOverlayXattr(name):
		return false
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "trusted."):
		return true
	case name == "security.capability",
		name == "system.posix_acl_access", name == "system.posix_acl_default":
		return true
	}
	return false
}

func isOverlayXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.")
}

// xattrReader lists and reads attributes by path without following a
// final symlink, reusing its buffers.
type xattrReader struct {
	names []byte
	val   []byte
}

// list returns every attribute of p (overlay's included), or nil.
func (x *xattrReader) list(p string) ([]xattr, error) {
	if x.names == nil {
		x.names = make([]byte, 1024)
		x.val = make([]byte, 1024)
	}
	var n int
	for {
		var err error
		n, err = unix.Llistxattr(p, x.names)
		if err == unix.ERANGE {
			sz, err2 := unix.Llistxattr(p, nil)
			if err2 != nil {
				return nil, fmt.Errorf("list xattrs of %s: %w", p, err2)
			}
			x.names = make([]byte, sz*2)
			continue
		}
		if err == unix.ENOTSUP || err == unix.EOPNOTSUPP {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list xattrs of %s: %w", p, err)
		}
		break
	}
	if n == 0 {
		return nil, nil
	}
	var out []xattr
	for _, raw := range bytes.Split(x.names[:n], []byte{0}) {
		if len(raw) == 0 {
			continue
		}
		name := string(raw)
		v, err := x.get(p, name)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read xattr %s of %s: %w", name, p, err)
		}
		out = append(out, xattr{name, v})
	}
	return out, nil
}

func (x *xattrReader) get(p, name string) (string, error) {
	for {
		n, err := unix.Lgetxattr(p, name, x.val)
		if err == unix.ERANGE {
			sz, err2 := unix.Lgetxattr(p, name, nil)
			if err2 != nil {
				return "", err2
			}
			x.val = make([]byte, sz*2)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(x.val[:n]), nil
	}
}

// overlayXattr returns the value of overlay's attribute key ("opaque",
// "whiteout", "metacopy", "redirect") under either namespace overlay
// uses (trusted.overlay.* normally, user.overlay.* with userxattr).
func overlayXattr(xs []xattr, key string) (string, bool) {
	for _, x := range xs {
		if x.Name == "trusted.overlay."+key || x.Name == "user.overlay."+key {
			return x.Value, true
		}
	}
	return "", false
}

// setXattrsFd sets attributes on an open regular file or directory.
func setXattrsFd(fd int, xs []xattr) error {
	for _, x := range xs {
		if err := unix.Fsetxattr(fd, x.Name, []byte(x.Value), 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", x.Name, err)
		}
	}
	return nil
}

// setXattrsAt sets attributes on name in dirfd without following it
// (symlinks, device nodes, fifos).
func setXattrsAt(dirfd int, name string, xs []xattr) error {
	p := procPath(dirfd, name)
	for _, x := range xs {
		if err := unix.Lsetxattr(p, x.Name, []byte(x.Value), 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", x.Name, err)
		}
	}
	return nil
}

// xattrsFromPAX extracts the attributes a tar header carries, keeping only
// those keepXattr allows (a crafted archive cannot plant overlay markers).
func xattrsFromPAX(recs map[string]string) []xattr {
	var out []xattr
	for k, v := range recs {
		if name, ok := strings.CutPrefix(k, paxXattrPrefix); ok && keepXattr(name) {
			out = append(out, xattr{name, v})
		}
	}
	return out
}

// syncXattrs makes the travelling attributes (keepXattr) of the open
// file fd exactly xs: it sets those listed and removes the others.
func syncXattrs(fd int, xs []xattr) error {
	want := map[string]bool{}
	for _, x := range xs {
		want[x.Name] = true
	}
	var xr xattrReader
	cur, err := xr.list(procPath(fd, "."))
	if err != nil {
		return err
	}
	for _, x := range cur {
		if keepXattr(x.Name) && !want[x.Name] {
			if err := unix.Fremovexattr(fd, x.Name); err != nil && err != unix.ENODATA {
				return fmt.Errorf("remove xattr %s: %w", x.Name, err)
			}
		}
	}
	return setXattrsFd(fd, xs)
}
