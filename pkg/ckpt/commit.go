package ckpt

import (
	"bytes"
	"context"
	"errors"
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
//
// BeginCommit does the same in two steps, the archive being written while
// CRIU still dumps.
func (s *Store) Commit(ctx context.Context, key Key, staging string, meta Meta, opt CommitOptions) (*Manifest, error) {
	// Refused before the key is locked and its folder made.
	if err := checkTarget(key, opt.Compression); err != nil {
		return nil, err
	}
	if err := checkDump(key, staging, &meta); err != nil {
		return nil, err
	}
	opt.Follow = false
	in, err := s.BeginCommit(ctx, key, staging, opt)
	if err != nil {
		return nil, err
	}
	return in.Commit(ctx, meta)
}

// checkTarget refuses a key or compression no commit can take.
func checkTarget(key Key, compression string) error {
	if key.IsZero() {
		return fmt.Errorf("commit: %w: zero Key", ErrBadKey)
	}
	if err := checkCompression(compression); err != nil {
		return fmt.Errorf("commit %s: %w", key, err)
	}
	return nil
}

// checkDump refuses a dump or meta no commit can take.
func checkDump(key Key, staging string, meta *Meta) error {
	if err := meta.check(); err != nil {
		return fmt.Errorf("commit %s: %w", key, err)
	}
	if err := checkDumpLogFile(filepath.Join(staging, memberDumpLog)); err != nil {
		return fmt.Errorf("commit %s: %w", key, err)
	}
	return nil
}

func checkCompression(c string) error {
	if c != "" && c != CompressionZstd && c != CompressionNone {
		return fmt.Errorf("compression %q is not %q or %q", c, CompressionZstd, CompressionNone)
	}
	return nil
}

// Incoming is an image being committed: its key is locked, its ID chosen
// and its archive begun (BeginCommit). Commit finishes it once the dump is
// complete; Abort drops it. It is used by one goroutine.
type Incoming struct {
	s       *Store
	key     Key
	staging string
	opt     CommitOptions
	l       *keyLock
	imageID string
	archive Archive
	begun   time.Time
	f       *os.File
	w       *archiveWriter
	fol     *follower
	ended   bool
	Stats   CommitStats
}

// BeginCommit locks key, names its next image and starts its archive. With
// opt.Follow, the archive takes CRIU's pages files from staging's
// checkpoint/ folder (created here if missing) while CRIU writes them:
// call it before the dump starts. Streaming is an optimisation: whenever
// it cannot be done or its result cannot be trusted, Commit writes the
// whole archive after the dump, as without Follow.
func (s *Store) BeginCommit(ctx context.Context, key Key, staging string, opt CommitOptions) (*Incoming, error) {
	if err := checkTarget(key, opt.Compression); err != nil {
		return nil, err
	}
	if opt.Compression == "" {
		opt.Compression = CompressionZstd
	}
	if err := checkRealDir(staging); err != nil {
		return nil, fmt.Errorf("commit %s: staging folder: %w", key, err)
	}
	in := &Incoming{s: s, key: key, staging: staging, opt: opt, begun: s.now().UTC()}
	l, err := s.lock(ctx, key, true, true)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	in.l = l
	// Named after the lock is taken, so that image IDs sort in commit order.
	if in.imageID, err = newImageID(s.now()); err != nil {
		l.release()
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	in.archive = Archive{Name: archiveName(in.imageID, opt.Compression), Compression: opt.Compression}
	if err := in.create(ctx); err != nil {
		l.release()
		return nil, fmt.Errorf("commit %s: %w", key, err)
	}
	if opt.Follow {
		if err := in.follow(ctx); err != nil {
			in.Stats.Fallback = err.Error()
			if err := in.restart(ctx); err != nil {
				in.Abort()
				return nil, fmt.Errorf("commit %s: %w", key, err)
			}
		}
	}
	return in, nil
}

// ImageID is the ID the image will have.
func (in *Incoming) ImageID() string { return in.imageID }

// create opens the .incoming archive file and its writer.
func (in *Incoming) create(ctx context.Context) error {
	f, err := in.l.dir.OpenFile(incomingPre+in.archive.Name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return fmt.Errorf("create archive: %w", err)
	}
	in.f = f
	in.w = newArchiveWriter(ctx, f, in.archive.Compression, in.begun, &in.Stats)
	return nil
}

// follow starts streaming the dump's pages files.
func (in *Incoming) follow(ctx context.Context) error {
	dir := filepath.Join(in.staging, memberCheckpoint)
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("staging: %w", err)
	}
	if err := checkRealDir(dir); err != nil {
		return fmt.Errorf("staging: CRIU image folder: %w", err)
	}
	if err := in.w.streamDir(memberCheckpoint); err != nil {
		return err
	}
	fol, err := startFollower(ctx, dir, memberCheckpoint, in.w)
	if err != nil {
		return err
	}
	in.fol = fol
	return nil
}

// restart drops what was written and begins the archive again, empty.
func (in *Incoming) restart(ctx context.Context) error {
	if in.fol != nil {
		in.fol.stop()
		in.fol = nil
	}
	in.w.abort()
	if err := in.f.Truncate(0); err != nil {
		return fmt.Errorf("restart archive: %w", err)
	}
	if _, err := in.f.Seek(0, 0); err != nil {
		return fmt.Errorf("restart archive: %w", err)
	}
	in.Stats = CommitStats{Fallback: in.Stats.Fallback}
	in.w = newArchiveWriter(ctx, in.f, in.archive.Compression, in.begun, &in.Stats)
	return nil
}

// Abort drops the incoming image: the archive begun is removed and the
// key unlocked. It may be called after Commit (it then does nothing).
func (in *Incoming) Abort() {
	if in.ended {
		return
	}
	in.ended = true
	if in.fol != nil {
		in.fol.stop()
	}
	in.w.abort()
	in.f.Close()
	in.l.dir.Remove(incomingPre + in.archive.Name)
	in.l.release()
}

// Commit ends the incoming image with the finished dump in staging and
// meta, as Store.Commit does. The key is unlocked whatever the outcome.
func (in *Incoming) Commit(ctx context.Context, meta Meta) (m *Manifest, err error) {
	if in.ended {
		return nil, fmt.Errorf("commit %s: already ended", in.key)
	}
	dumped := time.Now()
	defer func() {
		if err != nil {
			in.Abort()
		}
	}()
	if err := checkDump(in.key, in.staging, &meta); err != nil {
		return nil, err
	}
	if in.fol != nil {
		ferr := in.fol.finish()
		in.fol = nil
		if ferr != nil {
			in.Stats.Fallback = ferr.Error()
			if err := in.restart(ctx); err != nil {
				return nil, fmt.Errorf("commit %s: %w", in.key, err)
			}
		}
	}
	in.w.out.setProgress(in.opt.Progress)
	m = in.s.newManifest(in.key, &meta, in.begun)
	m.ImageID, m.Archive = in.imageID, in.archive
	cfg, err := configDumpJSON(&meta, m.CheckpointedAt)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", in.key, err)
	}
	plan, err := planMembers(in.staging, cfg, meta.Spec)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", in.key, err)
	}
	if err := in.writeArchive(ctx, m, plan); err != nil {
		return nil, fmt.Errorf("commit %s: %w", in.key, err)
	}
	in.Stats.Tail = time.Since(dumped)
	in.ended = true
	defer in.l.release()
	dir := in.l.dir
	if in.opt.BeforeInstall != nil {
		in.opt.BeforeInstall()
	}
	if err := installManifest(ctx, dir, m, in.s.signer); err != nil {
		return nil, fmt.Errorf("commit %s: %w", in.key, err)
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

// writeArchive writes the members of plan not streamed yet, ends the
// archive, makes it durable and renames it to m.Archive.Name, and fills
// m's archive size, CRC32C and members. On failure the caller removes
// what it wrote (Abort).
func (in *Incoming) writeArchive(ctx context.Context, m *Manifest, plan []source) error {
	have := make(map[string]bool, len(in.w.members))
	for _, mem := range in.w.members {
		have[mem.Name] = true
	}
	for _, src := range plan {
		if have[src.name] {
			continue
		}
		if err := in.w.add(src); err != nil {
			return err
		}
	}
	var err error
	if m.Archive.Size, m.Archive.CRC32C, err = in.w.finish(); err != nil {
		return err
	}
	m.Members = in.w.members
	t0 := time.Now()
	if err = in.f.Sync(); err != nil {
		return fmt.Errorf("fsync archive: %w", err)
	}
	in.Stats.Sync = time.Since(t0)
	if err = in.f.Close(); err != nil {
		return fmt.Errorf("close archive: %w", err)
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	dir := in.l.dir
	if err = dir.Rename(incomingPre+m.Archive.Name, m.Archive.Name); err != nil {
		return fmt.Errorf("rename archive into place: %w", err)
	}
	// The archive's name must be durable before a manifest names it.
	if err = dir.Sync(); err != nil {
		dir.Remove(m.Archive.Name)
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
