// Package atomicfile writes files so that a reader or a crash sees either the
// old content or the new one, never a mix: temp file in the same folder,
// fsync, rename, fsync of the folder.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// WriteFile replaces path with data. The new file gets perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces path with what fill writes. If fill fails, path is untouched
// and the temp file is removed. path is the operator's or ARCH's own (its
// folder is opened as the system resolves it); for paths below a root that a
// tenant can reach, use saferoot.Dir.WriteAtomic, which this is built on.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	d, err := saferoot.OpenTrusted(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("open folder of %s: %w", path, err)
	}
	defer d.Close()
	return d.WriteAtomic(filepath.Base(path), perm, func(f *os.File) error { return fill(f) })
}

// WriteInterim replaces path with data atomically for readers and for a
// crash of the process, without fsync: a crash of the machine may bring
// back the old content (see saferoot.Dir.WriteInterim).
func WriteInterim(path string, data []byte, perm os.FileMode) error {
	d, err := saferoot.OpenTrusted(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("open folder of %s: %w", path, err)
	}
	defer d.Close()
	return d.WriteInterim(filepath.Base(path), data, perm)
}

// SyncDir fsyncs a folder so that a rename or create inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	return nil
}
