// Package layer finds a container's writable layer and identifies the image
// layers under it, from the mount table rather than from any guess about
// the snapshotter's folder names.
package layer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// Overlay is an overlayfs mount: the container's rootfs as containerd's
// overlay snapshotter mounts it.
type Overlay struct {
	Mountpoint string
	Lower      []string // top-most first, as in the lowerdir option
	Upper      string   // the writable layer
	Work       string
	// DataLower are data-only lower layers (after "::" in lowerdir, or
	// datadir+): they hold the data of metacopy files, not a view.
	DataLower []string
}

// ErrNotOverlay means the rootfs is not an overlay mount (another
// snapshotter, or a plain folder): files cannot be captured as a diff.
var ErrNotOverlay = errors.New("rootfs is not an overlay mount")

// FindOverlay returns the overlay mounted at rootfs, as seen in
// /proc/self/mountinfo. When several mounts stack on the same point, the
// last (top-most) one is what processes see.
func FindOverlay(rootfs string) (*Overlay, error) {
	target, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return nil, fmt.Errorf("resolve rootfs %s: %w", rootfs, err)
	}
	mounts, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(target))
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	if len(mounts) == 0 {
		return nil, fmt.Errorf("%w: nothing is mounted at %s", ErrNotOverlay, target)
	}
	m := mounts[len(mounts)-1]
	if m.FSType != "overlay" {
		return nil, fmt.Errorf("%w: %s is %s", ErrNotOverlay, target, m.FSType)
	}
	o, err := parseOverlayOptions(target, m.VFSOptions)
	if err != nil {
		return nil, err
	}
	o.resolveRelativeLowers()
	return o, nil
}

// ParseOverlay describes the overlay mounted at mountpoint from its super
// options as a mount table shows them (mountinfo's last field), relative
// lowerdirs made absolute as FindOverlay does. A mount without an upperdir
// is ErrNotOverlay.
func ParseOverlay(mountpoint, superOptions string) (*Overlay, error) {
	o, err := parseOverlayOptions(mountpoint, superOptions)
	if err != nil {
		return nil, err
	}
	o.resolveRelativeLowers()
	return o, nil
}

// resolveRelativeLowers makes relative lowerdirs absolute. containerd
// mounts with lowerdirs relative to its snapshots folder (from inside it)
// when the absolute option would not fit a page; the mount table then
// shows them relative. The snapshots folder is found from the upperdir
// (<snapshots>/<id>/fs); a path that cannot be found stays as it was.
func (o *Overlay) resolveRelativeLowers() {
	bases := []string{filepath.Dir(filepath.Dir(o.Upper)), filepath.Dir(o.Upper)}
	fix := func(ls []string) {
		for i, l := range ls {
			if filepath.IsAbs(l) {
				continue
			}
			for _, b := range bases {
				p := filepath.Join(b, l)
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					ls[i] = p
					break
				}
			}
		}
	}
	fix(o.Lower)
	fix(o.DataLower)
}

// parseOverlayOptions reads lowerdir, upperdir and workdir from overlay's
// super options. Paths may contain escaped commas ("\,") and colons ("\:").
func parseOverlayOptions(mountpoint, opts string) (*Overlay, error) {
	o := &Overlay{Mountpoint: mountpoint}
	for _, opt := range splitEscaped(opts, ',') {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "lowerdir":
			data := false
			for _, l := range splitEscaped(v, ':') {
				switch {
				case l == "":
					data = true // "::": data-only layers follow
				case data:
					o.DataLower = append(o.DataLower, unescape(l))
				default:
					o.Lower = append(o.Lower, unescape(l))
				}
			}
		case "lowerdir+":
			o.Lower = append(o.Lower, unescape(v))
		case "datadir+":
			o.DataLower = append(o.DataLower, unescape(v))
		case "upperdir":
			o.Upper = unescape(v)
		case "workdir":
			o.Work = unescape(v)
		}
	}
	if o.Upper == "" {
		return nil, fmt.Errorf("%w: overlay at %s has no upperdir (read-only rootfs)", ErrNotOverlay, mountpoint)
	}
	return o, nil
}

func splitEscaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
