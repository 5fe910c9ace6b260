package ckpt

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// File names inside a key folder.
const (
	lockFile      = ".lock"
	manifestFile  = "manifest.json"
	restoredFile  = "restored.json"
	incomingPre   = ".incoming-"
	tarSuffix     = ".tar"
	tarZstSuffix  = ".tar.zst"
	tmpPrefix     = "." // pkg/atomicfile's temp files: ".<name>.tmp-*"
	tmpInfix      = saferoot.TempInfix
	dirPerm       = 0o700
	filePerm      = 0o600
	imageIDLayout = "20060102T150405.000000000Z"
)

// Compression values of CommitOptions.Compression and Archive.Compression.
const (
	CompressionZstd = "zstd"
	CompressionNone = "none"
)

// Store is a checkpoint store rooted at one folder. It holds no open
// resources; a Store is safe for concurrent use, and several processes (on
// several nodes, when the root is a shared filesystem) may use the same root.
type Store struct {
	loc    saferoot.Location
	now    func() time.Time
	node   func() string
	signer *Signer // nil: manifests are neither signed nor checked
}

// New returns the store rooted at root, a path the node operator chose
// (arch.conf's store, a command-line flag). Nothing is created until the
// first commit. The root itself may be a symlink (a mount point
// elsewhere); nothing inside it is ever followed.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("checkpoint store: empty root path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store %s: %w", root, err)
	}
	return Open(saferoot.Trusted(abs)), nil
}

// Open returns the store at loc: a store a container's environment named
// is the folder loc.Rel below an allowed root, and neither that path nor
// anything in the store is ever reached through a symlink.
func Open(loc saferoot.Location) *Store {
	return &Store{loc: loc, now: time.Now, node: hostname}
}

// Root returns the store's root folder.
func (s *Store) Root() string { return s.loc.Path() }

func (s *Store) keyDir(k Key) string { return filepath.Join(s.Root(), k.Folder()) }

// KeyDir is the folder of key in the store (for progress watchers; read
// it, never write there: the store's rules are this package's).
func (s *Store) KeyDir(k Key) string { return s.keyDir(k) }

// openRoot opens the store's root folder, creating it (and what is
// missing below its allowed root) with create.
func (s *Store) openRoot(create bool) (*saferoot.Dir, error) {
	if create {
		return s.loc.MkdirAll(dirPerm)
	}
	return s.loc.Open()
}

// OpenRoot opens the store's root folder as every store operation reaches
// it (never through a symlink below its allowed root), creating it as the
// first commit would with create. For callers outside the store's layout
// (checkpoint-all's write probe): close the folder when done.
func (s *Store) OpenRoot(create bool) (*saferoot.Dir, error) {
	d, err := s.openRoot(create)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store %s: %w", s.Root(), err)
	}
	return d, nil
}

// openKeyDir opens the key folder of k without following a symlink
// anywhere below the store's allowed root; with create it makes what is
// missing. A missing folder (without create) is an error wrapping
// fs.ErrNotExist.
func (s *Store) openKeyDir(k Key, create bool) (*saferoot.Dir, error) {
	root, err := s.openRoot(create)
	if err != nil {
		return nil, fmt.Errorf("checkpoint store %s: %w", s.Root(), err)
	}
	defer root.Close()
	if create {
		if _, err := root.Mkdir(k.Folder(), dirPerm); err != nil {
			return nil, fmt.Errorf("create key folder: %w", err)
		}
	}
	return root.OpenDir(k.Folder())
}

// IsIncoming reports whether name, in a key folder, is an archive being
// written by a commit.
func IsIncoming(name string) bool { return isIncoming(name) }

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// newImageID returns a fresh image ID that sorts by time:
// "20250314T101502.123456789Z-1a2b3c4d".
func newImageID(t time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("image id: %w", err)
	}
	return t.UTC().Format(imageIDLayout) + "-" + hex.EncodeToString(b[:]), nil
}

var imageIDRe = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{9}Z-[0-9a-f]{8}$`)

func validImageID(id string) bool { return imageIDRe.MatchString(id) }

// archiveName is the file name of an image's archive.
func archiveName(id, compression string) string {
	if compression == CompressionNone {
		return id + tarSuffix
	}
	return id + tarZstSuffix
}

// archiveImageID returns the image ID of an archive file name, or "" when
// name is not one.
func archiveImageID(name string) string {
	id, ok := strings.CutSuffix(name, tarZstSuffix)
	if !ok {
		id, ok = strings.CutSuffix(name, tarSuffix)
	}
	if !ok || !validImageID(id) {
		return ""
	}
	return id
}

// isIncoming reports whether name is an archive being written.
func isIncoming(name string) bool { return strings.HasPrefix(name, incomingPre) }

// isAtomicTemp reports whether name is a temp file of pkg/atomicfile for
// the manifest or the restored mark.
func isAtomicTemp(name string) bool {
	for _, f := range []string{manifestFile, restoredFile} {
		if strings.HasPrefix(name, tmpPrefix+f+tmpInfix) {
			return true
		}
	}
	return false
}
