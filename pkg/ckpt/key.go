package ckpt

import (
	"fmt"
	"strings"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Limits on keys.
const (
	MaxKeyLen        = 512 // bytes in the whole key
	MaxKeyComponents = 8
	MaxComponentLen  = 200
	// maxFolderName is NAME_MAX of ext4, XFS, NFS and EFS: the escaped key
	// is a single folder name, so it must fit.
	maxFolderName = 255
	// maxEcho bounds how much of a rejected key an error message repeats.
	maxEcho = 64
)

// SharedStoreFolder is the store's folder in a shared root
// (ARCH_SHAREDFS_HOST_PATH/checkpoint), beside its work dirs'
// (saferoot.WorkFolder).
const SharedStoreFolder = "checkpoint"

// reservedFolders are the names no key's folder may have: in a store that
// is also a shared root, the key folder would be the shared root's store or
// the folder of every tenant's work dir.
var reservedFolders = []string{saferoot.WorkFolder, SharedStoreFolder}

// Key names a workload whose checkpoint survives the container: the next
// container created with the same key restores from it. Build one with
// ParseKey; the zero Key is invalid.
type Key struct{ s string }

// String returns the key as written, e.g. "k8s.io/ns/pod/ctr".
func (k Key) String() string { return k.s }

// IsZero reports whether k is the zero (invalid) Key.
func (k Key) IsZero() bool { return k.s == "" }

// Folder is the key's folder name in the store, and its work dir's name
// in a shared root: "/" escaped as "%2F", so that keys never nest.
func (k Key) Folder() string { return strings.ReplaceAll(k.s, "/", "%2F") }

// ParseKey checks raw and returns it as a Key. A key is 1 to 8 components
// separated by "/"; each component matches [A-Za-z0-9][A-Za-z0-9._:@+=-]*
// and has at most 200 bytes; the whole key has at most 512 bytes and its
// escaped form (the folder name) at most 255. So ".", "..", empty
// components, absolute paths, backslashes, NUL and '%' are all rejected.
// Errors wrap ErrBadKey and name the offending component.
func ParseKey(raw string) (Key, error) {
	if raw == "" {
		return Key{}, fmt.Errorf("%w: empty key", ErrBadKey)
	}
	if len(raw) > MaxKeyLen {
		return Key{}, fmt.Errorf("%w: key %s is %d bytes, max %d", ErrBadKey, echo(raw), len(raw), MaxKeyLen)
	}
	comps := strings.Split(raw, "/")
	if len(comps) > MaxKeyComponents {
		return Key{}, fmt.Errorf("%w: key %s has %d components, max %d", ErrBadKey, echo(raw), len(comps), MaxKeyComponents)
	}
	for i, c := range comps {
		if err := checkComponent(c); err != nil {
			return Key{}, fmt.Errorf("%w: key %s: component %d %s: %s", ErrBadKey, echo(raw), i+1, echo(c), err)
		}
	}
	k := Key{raw}
	for _, r := range reservedFolders {
		if saferoot.SameName(k.Folder(), r) {
			return Key{}, fmt.Errorf("%w: key %s: its folder name %q is reserved (a shared root's %q and %q)", ErrBadKey, echo(raw), r, saferoot.WorkFolder, SharedStoreFolder)
		}
	}
	if n := len(k.Folder()); n > maxFolderName {
		return Key{}, fmt.Errorf("%w: key %s: its folder name would be %d bytes, max %d", ErrBadKey, echo(raw), n, maxFolderName)
	}
	return k, nil
}

// checkComponent explains what is wrong with one component, or returns nil.
func checkComponent(c string) error {
	switch {
	case c == "":
		return fmt.Errorf("is empty (leading, trailing or doubled \"/\")")
	case len(c) > MaxComponentLen:
		return fmt.Errorf("is %d bytes, max %d", len(c), MaxComponentLen)
	case !isAlnum(c[0]):
		return fmt.Errorf("must start with a letter or digit")
	}
	for i := 1; i < len(c); i++ {
		if b := c[i]; !isAlnum(b) && !strings.ContainsRune("._:@+=-", rune(b)) {
			return fmt.Errorf("character %q is not allowed (letters, digits and . _ : @ + = - only)", b)
		}
	}
	return nil
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// keyFromFolder maps a folder name of the store back to its key. It accepts
// only the canonical escaping of a valid key.
func keyFromFolder(name string) (Key, error) {
	k, err := ParseKey(strings.ReplaceAll(name, "%2F", "/"))
	if err != nil {
		return Key{}, err
	}
	if k.Folder() != name {
		return Key{}, fmt.Errorf("%w: folder %s is not the escaped form of a key", ErrBadKey, echo(name))
	}
	return k, nil
}

// echo quotes at most maxEcho bytes of untrusted input for an error message.
func echo(s string) string {
	if len(s) > maxEcho {
		return fmt.Sprintf("%q...", s[:maxEcho])
	}
	return fmt.Sprintf("%q", s)
}
