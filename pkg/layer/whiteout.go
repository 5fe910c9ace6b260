package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// isWhiteout tells whether an upperdir entry is overlay's record of a
// deleted lower entry: a 0/0 character device, or (newer kernels, nested
// overlays) an empty file carrying the overlay.whiteout attribute.
func isWhiteout(st *unix.Stat_t, xs []xattr) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		return st.Rdev == 0
	case unix.S_IFREG:
		if st.Size != 0 {
			return false
		}
		_, ok := overlayXattr(xs, "whiteout")
		return ok
	}
	return false
}

// isOpaque tells whether an upperdir directory hides everything the lower
// layers have below it. "y" is opaque; "x" only says the directory holds
// xattr whiteouts.
func isOpaque(xs []xattr) bool {
	v, ok := overlayXattr(xs, "opaque")
	return ok && v == "y"
}

// lowerStack reads the merged view of the read-only layers (top-most
// first) the way overlay does: a name in a higher layer hides the same
// name below, whiteouts hide, opaque directories stop the descent.
type lowerStack struct {
	layers  []string
	xr      xattrReader
	checked bool
}

// check makes sure every layer can be read: a layer that cannot be found
// would silently hide nothing.
func (s *lowerStack) check() error {
	if s.checked {
		return nil
	}
	for _, l := range s.layers {
		if !filepath.IsAbs(l) {
			return fmt.Errorf("lower layer %q is not an absolute path", l)
		}
		if fi, err := os.Stat(l); err != nil || !fi.IsDir() {
			return fmt.Errorf("lower layer %s cannot be read: %v", l, err)
		}
	}
	s.checked = true
	return nil
}

// lowerEntry is one visible name in a lower directory.
type lowerEntry struct {
	name  string
	isDir bool
}

// list returns the visible entries of the lower directory rel ("" is the
// root), sorted by name. A rel that is not a directory in the merged lower
// view gives nothing.
func (s *lowerStack) list(rel string) ([]lowerEntry, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	seen := map[string]bool{} // name -> hidden or taken by a higher layer
	var out []lowerEntry
	for _, l := range s.layers {
		dir := filepath.Join(l, rel)
		var st unix.Stat_t
		if err := unix.Lstat(dir, &st); err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				continue
			}
			return nil, &fs.PathError{Op: "lstat", Path: dir, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			break // a file or whiteout here hides the directory below
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if seen[e.Name()] {
				continue
			}
			seen[e.Name()] = true
			p := filepath.Join(dir, e.Name())
			var est unix.Stat_t
			if err := unix.Lstat(p, &est); err != nil {
				return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
			}
			xs, err := s.xr.list(p)
			if err != nil {
				return nil, err
			}
			if isWhiteout(&est, xs) {
				continue
			}
			out = append(out, lowerEntry{e.Name(), est.Mode&unix.S_IFMT == unix.S_IFDIR})
		}
		dxs, err := s.xr.list(dir)
		if err != nil {
			return nil, err
		}
		if isOpaque(dxs) {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// hiddenByOpaque returns the container paths that the opaque upper
// directory rel hides: every entry visible in the lower layers below rel
// that the upperdir does not have (upperHas answers that, with whether the
// upper entry is a directory). Only the top-most missing path of a subtree
// is listed, since deleting a directory deletes what is below it.
func (s *lowerStack) hiddenByOpaque(rel string, upperHas func(rel string) (exists, isDir bool)) ([]string, error) {
	var out []string
	var visit func(dir string) error
	visit = func(dir string) error {
		ents, err := s.list(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := joinRel(dir, e.name)
			ok, upDir := upperHas(p)
			switch {
			case !ok:
				out = append(out, "/"+p)
			case upDir && e.isDir:
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return out, visit(rel)
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
