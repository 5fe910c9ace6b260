package wrapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// An image reference is what a containerd caller's --image-path receives
// instead of the dump when the checkpoint ends the container: containerd
// archives that folder into its content store as its own checkpoint image
// (`ctr task checkpoint`, Docker's `checkpoint create`), a second copy of
// an image ARCH has already committed, which the user waits for. The
// reference names ARCH's image; a `runc restore` whose --image-path holds
// one is served from ARCH's store (restoreref.go).

// imageRefName is the reference's file name in the image path.
const imageRefName = "arch-image.json"

// imageRefVersion is the reference format this wrapper writes and reads.
const imageRefVersion = 1

// maxImageRefSize bounds the reference read back (a few hundred bytes).
const maxImageRefSize = 64 << 10

// imageRef identifies one committed image. ImageID is unique per
// checkpoint, so no two references are the same file: containerd 1.6
// fails a checkpoint whose blob its content store already holds.
type imageRef struct {
	FormatVersion  int       `json:"formatVersion"`
	Key            string    `json:"key"`
	ImageID        string    `json:"imageID"`
	Store          string    `json:"store"`
	CheckpointedAt time.Time `json:"checkpointedAt"`
}

// procRoot is where the wrapper reads other processes' /proc entries (the
// unit tests point it at a fake one).
var procRoot = "/proc"

// parentIsContainerdShim reports whether process ppid, read under proc,
// is a containerd shim (containerd-shim-runc-v2, or the v1 containerd-shim:
// the kernel keeps the first 15 bytes of the name, "containerd-shim").
func parentIsContainerdShim(proc string, ppid int) bool {
	comm, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(ppid), "comm"))
	return err == nil && strings.HasPrefix(string(comm), "containerd-shim")
}

// givesImageRef reports whether this checkpoint's --image-path gets a
// reference rather than the dump: the caller is containerd (through its
// shim), which archives the folder as its own image, and asked for exit
// semantics. A --leave-running caller (the kubelet's checkpoint API, `ctr
// task checkpoint` without --exit) and a direct runc caller get the dump:
// they may restore it without ARCH.
func (c *call) givesImageRef() bool {
	return !c.cmd.Bool("leave-running") && parentIsContainerdShim(procRoot, os.Getppid())
}

// writeImageRef writes ref into folder dir (created if missing).
func writeImageRef(dir string, ref imageRef) error {
	data, err := json.MarshalIndent(ref, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, imageRefName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hasImageRef reports whether folder dir holds an entry named like a
// reference (of any type: a symlink is refused when read). One lstat: it
// decides whether a restore is ARCH's at all.
func hasImageRef(dir string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Lstat(filepath.Join(dir, imageRefName))
	return err == nil
}

// errBadImageRef marks a reference that cannot be read or parsed.
var errBadImageRef = errors.New("unreadable ARCH image reference")

// readImageRef reads the reference in folder dir. The folder's content is
// the caller's, and may be a tenant's (a checkpoint image built for `ctr
// run --checkpoint`): a symlink or anything but a small regular file is
// refused, and the fields are only ever compared with what ARCH derives
// itself.
func readImageRef(dir string) (*imageRef, error) {
	p := filepath.Join(dir, imageRefName)
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symlink", errBadImageRef, p)
		}
		return nil, fmt.Errorf("%w: %w", errBadImageRef, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", errBadImageRef, p)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxImageRefSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadImageRef, err)
	}
	if len(data) > maxImageRefSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", errBadImageRef, p, maxImageRefSize)
	}
	var ref imageRef
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&ref); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errBadImageRef, p, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: data after the JSON object", errBadImageRef, p)
	}
	if ref.FormatVersion != imageRefVersion {
		return nil, fmt.Errorf("%w: %s: format version %d, this ARCH reads %d", errBadImageRef, p, ref.FormatVersion, imageRefVersion)
	}
	if ref.Key == "" || ref.ImageID == "" {
		return nil, fmt.Errorf("%w: %s: no key or image", errBadImageRef, p)
	}
	return &ref, nil
}
