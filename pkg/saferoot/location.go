package saferoot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Location is a host folder named in two parts: Root, which the node
// operator chose and which is opened as the system resolves it, and Rel
// below it, which may come from a tenant and is resolved without following
// any symlink.
type Location struct {
	Root string
	Rel  string // "" is Root itself; else clean, relative, slash-separated, no ".."
	// CreateRoot lets MkdirAll create a missing Root (the node's own
	// folders). A missing allowed root is a mount that is not there: a
	// folder created in its place would hide it.
	CreateRoot bool
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
func (l Location) Open() (*Dir, error) {
	root, err := OpenTrusted(l.Root)
	if err != nil {
		return nil, err
	}
	if l.Rel == "" {
		return root, nil
	}
	defer root.Close()
	return root.OpenDir(l.Rel)
}

// MkdirAll opens the folder, creating what is missing of Rel (and of Root
// when CreateRoot is set) with perm.
func (l Location) MkdirAll(perm os.FileMode) (*Dir, error) {
	if l.CreateRoot {
		if err := os.MkdirAll(l.Root, perm); err != nil {
			return nil, err
		}
	}
	root, err := OpenTrusted(l.Root)
	if err != nil {
		return nil, err
	}
	if l.Rel == "" {
		return root, nil
	}
	defer root.Close()
	return root.MkdirAll(l.Rel, perm)
}

// Check resolves as much of the location as exists, without creating
// anything: nil when every existing component below Root is a real folder
// (what is missing, MkdirAll will create), an error wrapping ErrUnsafe at
// the first symlink or non-folder, and one wrapping fs.ErrNotExist when Root
// itself is missing and may not be created.
func (l Location) Check() error {
	root, err := OpenTrusted(l.Root)
	if errors.Is(err, fs.ErrNotExist) && l.CreateRoot {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	if l.Rel == "" {
		return nil
	}
	if err := checkRel(l.Rel); err != nil {
		return err
	}
	cur := root
	for _, c := range strings.Split(l.Rel, "/") {
		st, err := cur.Lstat(c)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%w: %s %s", ErrUnsafe, cur.Join(c), notAFolder(st))
		}
		next, err := cur.OpenDir(c)
		if cur != root {
			cur.Close()
		}
		if err != nil {
			return err
		}
		cur = next
	}
	if cur != root {
		cur.Close()
	}
	return nil
}
