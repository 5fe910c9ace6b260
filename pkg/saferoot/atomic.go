package saferoot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// TempInfix is in the name of the temp files WriteAtomic creates:
// "." + name + TempInfix + random, so that a sweeper recognises the leftovers
// of a write a crash interrupted.
const TempInfix = ".tmp-"

// WriteAtomic replaces the file name in d with what fill writes: a temp
// file in d (created with O_EXCL, never through a symlink), fsync, rename
// over name, fsync of d. A reader or a crash sees the old file or the new
// one, never a mix. If fill fails, name is untouched and the temp file
// removed. The new file gets perm.
func (d *Dir) WriteAtomic(name string, perm os.FileMode, fill func(*os.File) error) (err error) {
	return d.writeAtomic(name, perm, fill, true)
}

// WriteInterim replaces name with data as WriteAtomic does, without the
// fsyncs: a reader, or a crash of the writing process, sees the old content
// or the new one, but a crash of the machine may bring back the old one.
// For states that only matter while the machine runs.
func (d *Dir) WriteInterim(name string, data []byte, perm os.FileMode) error {
	return d.writeAtomic(name, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	}, false)
}

func (d *Dir) writeAtomic(name string, perm os.FileMode, fill func(*os.File) error, durable bool) (err error) {
	if err := checkName(name); err != nil {
		return err
	}
	tmp, tmpName, err := d.createTemp(name, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			d.Remove(tmpName)
		}
	}()
	// The umask applied at create: set the exact mode.
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod temp file for %s: %w", d.Join(name), err)
	}
	if err = fill(tmp); err != nil {
		return fmt.Errorf("write %s: %w", d.Join(name), err)
	}
	if durable {
		if err = tmp.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", d.Join(name), err)
		}
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", d.Join(name), err)
	}
	if err = d.Rename(tmpName, name); err != nil {
		return fmt.Errorf("rename into %s: %w", d.Join(name), err)
	}
	if !durable {
		return nil
	}
	return d.Sync()
}

// WriteFile is WriteAtomic with the bytes data.
func (d *Dir) WriteFile(name string, data []byte, perm os.FileMode) error {
	return d.WriteAtomic(name, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

func (d *Dir) createTemp(name string, perm os.FileMode) (*os.File, string, error) {
	for range 100 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", err
		}
		tmpName := "." + name + TempInfix + hex.EncodeToString(b[:])
		f, err := d.OpenFile(tmpName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, perm)
		if err == nil {
			return f, tmpName, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", fmt.Errorf("create temp file for %s: %w", d.Join(name), err)
		}
	}
	return nil, "", fmt.Errorf("create temp file for %s: too many collisions", d.Join(name))
}
