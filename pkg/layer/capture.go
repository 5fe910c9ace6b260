package layer

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
	"golang.org/x/sys/unix"
)

// File names of the writable layer inside a checkpoint, as Podman, CRI-O
// and containerd name them (checkpointctl's lib).
const (
	RootfsDiffTar = metadata.RootFsDiffTar
	DeletedFiles  = metadata.DeletedFilesFile
)

// CaptureOptions tunes Capture.
type CaptureOptions struct {
	// Exclude lists absolute container paths that are not captured, with
	// everything below them (bind-mount destinations, ARCH's shared work
	// dir). /proc, /sys and /dev are never captured.
	Exclude []string
}

// CaptureStats counts what Capture wrote.
type CaptureStats struct {
	Files, Dirs, Symlinks, Hardlinks, Devices, Fifos, Deleted int
	// Bytes is the file content stored in the archive (holes of sparse
	// files excluded).
	Bytes int64
}

// Capture writes the container's writable layer, read from the overlay's
// upperdir, as outDir/rootfs-diff.tar (a PAX tar with names relative to
// the container root) and outDir/deleted.files (a JSON array of the
// absolute container paths the container deleted from the image's
// layers). It runs while the container is frozen, after CRIU's dump, so
// that the files match what the dumped processes had open.
func Capture(ctx context.Context, ov *Overlay, outDir string, opt CaptureOptions) (CaptureStats, error) {
	var stats CaptureStats
	if ov == nil || ov.Upper == "" {
		return stats, fmt.Errorf("capture: %w: no upperdir", ErrNotOverlay)
	}
	tarPath := filepath.Join(outDir, RootfsDiffTar)
	tmp := tarPath + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return stats, fmt.Errorf("capture: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *entry, 256)
	w := newWalker(ctx, ov, opt, ch)
	go w.run()
	defer func() { // on early return: stop the walker, close what it opened
		cancel()
		for e := range ch {
			if e.fd >= 0 {
				unix.Close(e.fd)
			}
		}
	}()

	out := newTarOut(f)
	for e := range ch {
		if e.err != nil {
			return stats, fmt.Errorf("capture %s: %w", ov.Upper, e.err)
		}
		err := writeEntry(out, e, &stats)
		if err != nil {
			return stats, fmt.Errorf("capture %s: %w", e.rel, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return stats, fmt.Errorf("capture: %w", err)
	}
	if err := out.close(); err != nil {
		return stats, fmt.Errorf("capture: %w", err)
	}
	if err := f.Close(); err != nil {
		return stats, fmt.Errorf("capture: %w", err)
	}
	if err := os.Rename(tmp, tarPath); err != nil {
		return stats, fmt.Errorf("capture: %w", err)
	}
	ok = true
	stats.Deleted = len(w.deleted)
	if err := writeDeleted(filepath.Join(outDir, DeletedFiles), w.deleted); err != nil {
		return stats, fmt.Errorf("capture: %w", err)
	}
	return stats, nil
}

// writeEntry writes one entry's header and data, and closes e.fd.
func writeEntry(out *tarOut, e *entry, stats *CaptureStats) error {
	if e.fd >= 0 {
		defer func() { unix.Close(e.fd); e.fd = -1 }()
	}
	h := &tar.Header{
		Typeflag: e.typ,
		Name:     e.rel,
		Linkname: e.link,
		Mode:     int64(e.st.Mode & 07777),
		Uid:      int(e.st.Uid),
		Gid:      int(e.st.Gid),
		ModTime:  time.Unix(e.st.Mtim.Sec, e.st.Mtim.Nsec),
		Format:   tar.FormatPAX,
	}
	if len(e.xattrs) > 0 {
		h.PAXRecords = make(map[string]string, len(e.xattrs))
		for _, x := range e.xattrs {
			h.PAXRecords[paxXattrPrefix+x.Name] = x.Value
		}
	}
	switch e.typ {
	case tar.TypeDir:
		h.Name += "/"
		if e.rel == "" {
			h.Name = "./"
		}
		stats.Dirs++
	case tar.TypeSymlink:
		stats.Symlinks++
	case tar.TypeLink:
		stats.Hardlinks++
	case tar.TypeChar, tar.TypeBlock:
		h.Devmajor = int64(unix.Major(e.st.Rdev))
		h.Devminor = int64(unix.Minor(e.st.Rdev))
		stats.Devices++
	case tar.TypeFifo:
		stats.Fifos++
	case tar.TypeReg:
		stats.Files++
		h.Size = e.st.Size
		if e.sparse {
			return writeSparse(out, h, e, stats)
		}
		if err := out.header(h); err != nil {
			return err
		}
		if e.data != nil {
			err := out.write(*e.data)
			smallBufs.Put(e.data)
			e.data = nil
			if err != nil {
				return err
			}
		} else if err := out.copyFrom(e.fd, 0, e.st.Size); err != nil {
			return err
		}
		stats.Bytes += e.st.Size
		return out.pad()
	}
	return out.header(h)
}

func writeSparse(out *tarOut, h *tar.Header, e *entry, stats *CaptureStats) error {
	if err := out.sparseHeader(h, e.exts); err != nil {
		return err
	}
	for _, x := range e.exts {
		if err := out.copyFrom(e.fd, x.off, x.len); err != nil {
			return err
		}
		stats.Bytes += x.len
	}
	return out.pad()
}

func writeDeleted(p string, deleted []string) error {
	if deleted == nil {
		deleted = []string{}
	}
	b, err := json.Marshal(deleted)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
