package saferoot

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
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
// inside another. (The fence, FenceName, catches the folder itself under
// any name; this rule also catches a work folder made later.)
const WorkFolder = "work"

// Allowed says which host folders a container's environment may name as
// its checkpoint store or shared root: the operator's allowed roots and
// what lies below them, and the node's own store (as a store).
type Allowed struct {
	Roots []string // clean absolute paths (arch.conf allowed_roots)
	Store string   // the node's own store (arch.conf store)
	// Reserved are ARCH's own node folders (state_dir, staging_dir; and
	// the store, as anything but a store): a named folder may neither be,
	// nor contain, nor lie inside one.
	Reserved []string
}

// LocateStore checks a host path named as a checkpoint store (name is the
// variable that named it, for messages): the node's store, or a folder
// allowed by Locate.
func (a Allowed) LocateStore(name, p string) (Location, error) { return a.locate(name, p, true) }

// LocateShared checks a host path named as a shared root
// (ARCH_SHAREDFS_HOST_PATH): its store and work dirs live below it, so the
// node's store is no shared root.
func (a Allowed) LocateShared(name, p string) (Location, error) { return a.locate(name, p, false) }

// locate returns p as a Location below the allowed root that contains it
// (the longest one). The check is lexical: p must be absolute, have no
// ".." component, pass through no folder named WorkFolder below any allowed
// root that contains it (compared as a case-insensitive file system would),
// and keep clear of the reserved folders. Symlinks and fences below the
// root are refused later, when the Location is opened.
func (a Allowed) locate(name, p string, asStore bool) (Location, error) {
	if !strings.HasPrefix(p, "/") {
		return Location{}, fmt.Errorf("%w: %s must be an absolute host path", ErrNotAllowed, name)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return Location{}, fmt.Errorf("%w: %s %s has a .. component", ErrNotAllowed, name, p)
		}
	}
	p = path.Clean(p)
	if asStore && a.Store != "" && p == path.Clean(a.Store) {
		return Trusted(p), nil
	}
	for _, r := range append([]string{a.Store}, a.Reserved...) {
		if r == "" {
			continue
		}
		r = path.Clean(r)
		if _, in := below(p, r); in {
			return Location{}, fmt.Errorf("%w: %s %s is or lies inside ARCH's own folder %s", ErrNotAllowed, name, p, r)
		}
		if _, holds := below(r, p); holds {
			return Location{}, fmt.Errorf("%w: %s %s holds ARCH's own folder %s", ErrNotAllowed, name, p, r)
		}
	}
	best := ""
	for _, r := range a.Roots {
		rel, ok := below(p, r)
		if !ok {
			continue
		}
		for _, c := range strings.Split(rel, "/") {
			if SameName(c, WorkFolder) {
				return Location{}, fmt.Errorf("%w: %s %s passes through a folder named %s below the allowed root %s: that name holds tenants' work dirs, and no ARCH folder may lie inside one",
					ErrNotAllowed, name, p, c, r)
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

// SameName reports whether the file name c may name the same folder as
// want on a case-insensitive or name-normalising file system (SMB, ext4
// casefold): equal under Unicode case folding once trailing dots and
// spaces (which SMB drops) are removed.
func SameName(c, want string) bool {
	return strings.EqualFold(strings.TrimRightFunc(c, func(r rune) bool { return r == '.' || unicode.IsSpace(r) }), want)
}

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
