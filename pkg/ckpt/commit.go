package ckpt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Commit turns a finished dump in staging into the current image of key,
// replacing the previous one. staging holds checkpoint/ (CRIU's image
// folder), dump.log (required) and optionally stats-dump, rootfs-diff.tar,
// deleted.files and bind.mounts.
//
// It refuses (ErrDumpFailed) a dump whose dump.log does not end with CRIU's
// success line. Under the key's lock it writes the archive as
// .incoming-<imageID>.tar[.zst], fsyncs it, renames it into place, writes
// manifest.json atomically and only then removes the previous archive,
// restored.json and any leftovers of interrupted commits. A crash or a
// cancelled ctx at any point leaves the previous image (or none) intact;
// a cancelled commit removes what it wrote.
func (s *Store) Commit(ctx context.Context, key Key, staging string, meta Meta, opt CommitOptions) (*Manifest, error) {
	if key.IsZero() {
		return nil, fmt.Errorf("commit: %w: zero Key", ErrBadKey)
	}
	compression := opt.Compression
	if compression == "" {
		compression = CompressionZstd
	}
	if compression != CompressionZstd && compression != CompressionNone {
		return nil, fmt.Errorf("commit %s: compression %q is not %q or %q", key, compression, CompressionZstd, CompressionNone)
	}
	if err := meta.check(); err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	if err := checkDumpLogFile(filepath.Join(staging, memberDumpLog)); err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	now := s.now().UTC()
	m := s.newManifest(key, &meta, now)
	cfg, err := configDumpJSON(&meta, m.CheckpointedAt)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	plan, err := planMembers(staging, cfg, meta.Spec)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}

	l, err := s.lock(ctx, key, true, true)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	defer l.release()
	// Named after the lock is taken, so that image IDs sort in commit order.
	if m.ImageID, err = newImageID(s.now()); err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	m.Archive = Archive{Name: archiveName(m.ImageID, compression), Compression: compression}
	dir := l.dir
	if err := writeArchive(ctx, dir, m, plan, opt.Progress); err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	if opt.BeforeInstall != nil {
		opt.BeforeInstall()
	}
	if err := installManifest(ctx, dir, m, s.signer); err != nil {
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	// The new image is current. Whatever else is in the folder is the
	// previous image or a leftover; failures here only leave files that
	// the next commit or GC removes.
	sweep(dir, m)
	dir.Sync()
	return m, nil
}

func (s *Store) newManifest(key Key, meta *Meta, now time.Time) *Manifest {
	node := meta.Node
	if node == "" {
		node = s.node()
	}
	at := meta.CheckpointedAt
	if at.IsZero() {
		at = now
	}
	return &Manifest{
		FormatVersion:  FormatVersion,
		Key:            key.String(),
		Source:         Source{Namespace: meta.Namespace, ContainerID: meta.ContainerID, Node: node, RuncRoot: meta.RuncRoot},
		Image:          ImageInfo{Reference: meta.ImageReference, RootfsIdentity: meta.RootfsIdentity},
		Process:        Process{Args: meta.Args, Terminal: meta.Terminal},
		CreatedAt:      meta.CreatedAt.UTC(),
		CheckpointedAt: at.UTC(),
		Capture:        meta.Capture,
		Network:        meta.Network,
	}
}

// writeArchive writes the members of plan into m.Archive.Name in dir via
// an .incoming file, and fills m's archive size, sha256 and members. On
// failure nothing it wrote is left behind.
func writeArchive(ctx context.Context, dir *saferoot.Dir, m *Manifest, plan []source, progress func(int64)) (err error) {
	final := m.Archive.Name
	incoming := incomingPre + m.Archive.Name
	f, err := dir.OpenFile(incoming, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return fmt.Errorf("create archive: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			dir.Remove(incoming)
		}
	}()
	w, err := newArchiveWriter(ctx, f, m.Archive.Compression, m.CheckpointedAt, progress)
	if err != nil {
		return err
	}
	for _, src := range plan {
		if err = w.add(src); err != nil {
			w.abort()
			return err
		}
	}
	if m.Archive.Size, m.Archive.CRC32C, err = w.finish(); err != nil {
		return err
	}
	m.Members = w.members
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsync archive: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close archive: %w", err)
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = dir.Rename(incoming, final); err != nil {
		return fmt.Errorf("rename archive into place: %w", err)
	}
	// The archive's name must be durable before a manifest names it.
	if err = dir.Sync(); err != nil {
		dir.Remove(final)
		return err
	}
	return nil
}

// installManifest makes m the current image of dir. On failure the image
// of dir is what it was before, and m's archive is removed: a caller told
// that the commit failed must not find its image restored later.
func installManifest(ctx context.Context, dir *saferoot.Dir, m *Manifest, signer *Signer) (err error) {
	defer func() {
		if err != nil {
			dir.Remove(m.Archive.Name)
		}
	}()
	if err := m.check(); err != nil {
		return fmt.Errorf("new manifest fails its own checks: %w", err)
	}
	data, err := m.encode(signer)
	if err != nil {
		return err
	}
	prev, _ := readSmallFile(dir, manifestFile, maxManifestSize) // nil: no (usable) previous image
	if err := ctx.Err(); err != nil {
		return err
	}
	err = dir.WriteFile(manifestFile, data, filePerm)
	if err != nil {
		// The rename may have happened before the folder's fsync failed.
		if now, rerr := readSmallFile(dir, manifestFile, maxManifestSize); rerr == nil && bytes.Equal(now, data) {
			if prev != nil {
				dir.WriteFile(manifestFile, prev, filePerm)
			} else {
				dir.Remove(manifestFile)
			}
		}
	}
	return err
}
