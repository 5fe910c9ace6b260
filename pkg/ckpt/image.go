package ckpt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Image is the current image of a key, with its archive held open: a
// commit that replaces the image meanwhile does not disturb Verify or
// Unpack. Close it when done.
type Image struct {
	Key      Key
	Manifest *Manifest
	// Restored is the restored mark of this image; nil when it has not
	// been restored (MarkRestored).
	Restored *RestoredInfo

	path string
	f    *os.File
}

// ID returns the image's ID.
func (img *Image) ID() string { return img.Manifest.ImageID }

// ArchivePath returns the path of the image's archive file, e.g. for
// checkpointctl.
func (img *Image) ArchivePath() string { return img.path }

// Close releases the archive.
func (img *Image) Close() error {
	if img.f == nil {
		return nil
	}
	err := img.f.Close()
	img.f = nil
	return err
}

// Current returns the current image of key and opens its archive. It
// returns an error wrapping ErrNoImage when the key has none, one wrapping
// ErrCorrupt when the manifest is damaged or names an archive that is
// missing, a symlink or not a regular file, and, for a store that signs
// (SignWith), one wrapping ErrUnsigned or ErrForged when the manifest's
// signature is missing or wrong. The content of the archive is
// not read: see Verify and Unpack.
func (s *Store) Current(key Key) (*Image, error) {
	if key.IsZero() {
		return nil, fmt.Errorf("%w: zero Key", ErrBadKey)
	}
	dir, err := s.openKeyDir(key, false)
	if err != nil {
		return nil, keyDirErr(key, err)
	}
	defer dir.Close()
	for attempt := 1; ; attempt++ {
		m, _, err := readManifestFile(dir, key, s.signer)
		if err != nil {
			return nil, err
		}
		f, _, err := openRegularIn(dir, m.Archive.Name)
		if errors.Is(err, fs.ErrNotExist) {
			// A commit may have replaced the image between the two reads.
			if again, err2 := readManifest(dir, key); err2 == nil && again.ImageID != m.ImageID && attempt < 5 {
				continue
			}
			return nil, fmt.Errorf("%w: key %s: image %s: archive %s named by the manifest is missing", ErrCorrupt, key, m.ImageID, m.Archive.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("key %s: image %s: %w", key, m.ImageID, corruptIfBadFile(err))
		}
		img := &Image{Key: key, Manifest: m, path: dir.Join(m.Archive.Name), f: f}
		if mark, err := readRestored(dir); err == nil && mark.ImageID == m.ImageID {
			img.Restored = &mark.RestoredInfo
		}
		return img, nil
	}
}

// keyDirErr says why a key folder could not be opened: a key without one
// has no image; a symlink or a non-folder in its place (or on the way to
// it) is never read, and makes the image corrupt.
func keyDirErr(key Key, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("key %s: %w", key, ErrNoImage)
	}
	return fmt.Errorf("key %s: %w", key, corruptIfBadFile(err))
}

// readManifest reads and checks the manifest of the key folder dir.
func readManifest(dir *saferoot.Dir, key Key) (*Manifest, error) {
	m, _, err := readManifestFile(dir, key, nil)
	return m, err
}

// readManifestFile reads and checks the manifest of the key folder dir,
// and its signature when signer is not nil; it returns the file's bytes
// too.
func readManifestFile(dir *saferoot.Dir, key Key, signer *Signer) (*Manifest, []byte, error) {
	data, err := readSmallFile(dir, manifestFile, maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("key %s: %w", key, ErrNoImage)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("key %s: %w", key, corruptIfBadFile(err))
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, nil, fmt.Errorf("key %s: %w", key, err)
	}
	if m.Key != key.String() {
		return nil, nil, fmt.Errorf("%w: key %s: manifest is for key %s", ErrCorrupt, key, echo(m.Key))
	}
	if signer != nil {
		if err := signer.check(m, data); err != nil {
			return m, data, err
		}
	}
	return m, data, nil
}

// corruptIfBadFile wraps ErrCorrupt around errors that say a store file is
// of the wrong kind (symlink, special file, too big); I/O errors stay as
// they are, since retrying may help.
func corruptIfBadFile(err error) error {
	if errors.Is(err, saferoot.ErrUnsafe) || errors.Is(err, errNotRegular) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// ArchiveSize is the size of the image's archive file as open now.
func (img *Image) ArchiveSize() (int64, error) {
	st, err := img.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
