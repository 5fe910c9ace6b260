package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/arch-ckpt/arch/pkg/atomicfile"
)

// BackupSuffix precedes the timestamp in a backup's name:
// config.toml.arch-backup-20250314T101502Z.
const BackupSuffix = ".arch-backup-"

// target is a configuration file about to be edited.
type target struct {
	path   string // symlinks resolved: the file that is replaced
	data   []byte
	info   fs.FileInfo // nil when the file does not exist
	exists bool
}

// readTarget reads path, following symlinks so that a linked
// configuration is edited where it lives (renaming over the link would
// replace it with a plain file).
func readTarget(path string) (*target, error) {
	real, err := filepath.EvalSymlinks(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			return nil, fmt.Errorf("%s is a dangling symlink", path)
		}
		return &target{path: path}, nil
	case err != nil:
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", real, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", real)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", real, err)
	}
	return &target{path: real, data: data, info: info, exists: true}, nil
}

// replace writes data to t's file: for an existing file, after copying the
// original to a backup next to it, by a temp file that gets the file's
// mode and owner, fsync, rename, fsync of the folder. A new file gets
// mode newPerm (and its folder, 0755, when missing). It returns the
// backup's path ("" for a new file).
func (t *target) replace(data []byte, newPerm fs.FileMode, now time.Time) (string, error) {
	if !t.exists {
		if err := os.MkdirAll(filepath.Dir(t.path), 0o755); err != nil {
			return "", fmt.Errorf("create folder of %s: %w", t.path, err)
		}
		if err := atomicfile.WriteFile(t.path, data, newPerm); err != nil {
			return "", fmt.Errorf("write %s: %w", t.path, err)
		}
		return "", nil
	}
	backup, err := writeBackup(t.path, t.data, t.info, now)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Replace(t.path, data, t.info); err != nil {
		return backup, fmt.Errorf("replace %s (the original is in %s): %w", t.path, backup, err)
	}
	return backup, nil
}

// writeBackup copies the original content to <path>.arch-backup-<UTC
// time>, never overwriting an earlier backup (a -2, -3, ... suffix is
// added when one with that name exists). The backup gets the original's
// mode and owner and is fsynced before the original is replaced.
func writeBackup(path string, data []byte, info fs.FileInfo, now time.Time) (string, error) {
	base := path + BackupSuffix + now.UTC().Format("20060102T150405Z")
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name = base + "-" + strconv.Itoa(n)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
		if errors.Is(err, fs.ErrExist) && n < 1000 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create backup of %s: %w", path, err)
		}
		atomicfile.ChownLike(f, info)
		err = f.Chmod(info.Mode().Perm())
		if err == nil {
			_, err = f.Write(data)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name)
			return "", fmt.Errorf("write backup %s: %w", name, err)
		}
		if err := atomicfile.SyncDir(filepath.Dir(name)); err != nil {
			return "", err
		}
		return name, nil
	}
}
