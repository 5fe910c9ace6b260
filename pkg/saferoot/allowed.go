package saferoot

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrNotAllowed marks a host path from a container's environment that the
// node's configuration does not allow.
var ErrNotAllowed = errors.New("host path not allowed")

// WorkFolder is the folder of a shared root that holds the tenants' work
// dirs (<shared>/work/<escaped key>), each bind-mounted read-write into its
// container. A path from a container's environment may not pass through a
// folder of this name below its allowed root: it could lie inside some
// tenant's work dir, where that tenant plants symlinks or swaps folders at
// will. So no ARCH folder ever lies inside a work dir, and no work dir
// inside another.
const WorkFolder = "work"

// Allowed says which host folders a container's environment may name as
// its checkpoint store or shared root: the operator's allowed roots and
// what lies below them, and the node's own store.
type Allowed struct {
	Roots []string // clean absolute paths (arch.conf allowed_roots)
	Store string   // the node's own store (arch.conf store)
}

// Locate checks a host path named by a container's environment (what
// variable named it: for messages) and returns it as a Location below the
// allowed root that contains it (the longest one). The check is lexical:
// p must be absolute, have no ".." component and, below every allowed root
// that contains it, no component named WorkFolder. Symlinks below the root
// are refused later, when the Location is opened.
func (a Allowed) Locate(name, p string) (Location, error) {
	if !strings.HasPrefix(p, "/") {
		return Location{}, fmt.Errorf("%w: %s must be an absolute host path", ErrNotAllowed, name)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return Location{}, fmt.Errorf("%w: %s %s has a .. component", ErrNotAllowed, name, p)
		}
	}
	p = path.Clean(p)
	if a.Store != "" && p == path.Clean(a.Store) {
		return Trusted(p), nil
	}
	best := ""
	for _, r := range a.Roots {
		rel, ok := below(p, r)
		if !ok {
			continue
		}
		for _, c := range strings.Split(rel, "/") {
			if c == WorkFolder {
				return Location{}, fmt.Errorf("%w: %s %s passes through a folder named %s below the allowed root %s: that name holds tenants' work dirs, and no ARCH folder may lie inside one",
					ErrNotAllowed, name, p, WorkFolder, r)
			}
		}
		if len(r) > len(best) {
			best = r
		}
	}
	if best == "" {
		if len(a.Roots) == 0 {
			return Location{}, fmt.Errorf("%w: %s %s: this node allows no host paths from containers (allowed_roots is not set in arch.conf)", ErrNotAllowed, name, p)
		}
		return Location{}, fmt.Errorf("%w: %s %s is not one of the node's allowed_roots (%s) nor below one", ErrNotAllowed, name, p, strings.Join(a.Roots, ", "))
	}
	rel, _ := below(p, best)
	return Location{Root: best, Rel: rel}, nil
}

// LocateStore returns the Location of a store path that ARCH derived
// earlier (a record's, a decision's): the node's own store, or a path
// below an allowed root, checked again against the current configuration.
func (a Allowed) LocateStore(p string) (Location, error) { return a.Locate("checkpoint store", p) }

// below returns p relative to root ("" for root itself) and whether p is
// root or lies below it. Both are clean absolute paths.
func below(p, root string) (string, bool) {
	if p == root {
		return "", true
	}
	prefix := root
	if root != "/" {
		prefix += "/"
	}
	rel, ok := strings.CutPrefix(p, prefix)
	return rel, ok
}
