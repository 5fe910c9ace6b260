package wrapper

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/runccmd"
)

// restoreFromRef handles a caller's own `runc restore` (containerd's
// restore of a checkpoint image: `docker start --checkpoint`, `ctr
// container restore`, ...) whose --image-path holds an ARCH image
// reference (imageref.go) rather than a dump, for an enabled container:
// the image the reference names is restored from ARCH's store as a create
// would restore it (unpack to staging, the container's files, `runc
// restore` of the staging image), and nothing else is. The reference is
// the caller's data, possibly a tenant's: it is honoured only when it names
// this container's own key (as its configuration derives it), its own
// store (ARCH's configuration, never the reference, says where that is)
// and the key's current image. Otherwise the restore fails with the
// reason, as runc fails on a bad image: the container does not start
// fresh behind the caller's back. Any other restore, and one of a
// container that is not enabled, goes to runc unchanged.
func (c *call) restoreFromRef() (int, bool) {
	// declines["restore"] has seen the reference (the handler runs only then).
	images, _ := c.cmd.Get("image-path")
	dir, ok := c.cmd.Get("bundle")
	if !ok || dir == "" {
		dir = "."
	}
	b, err := bundle.Load(dir)
	if err != nil {
		c.logger().Warn().Err(err).Msg("restore: cannot read the bundle; passing restore to runc unchanged")
		return 0, false
	}
	d := c.decide(b)
	if !d.Enabled {
		c.logger().Info().Str("image_path", images).Msg("restore: an ARCH image reference, but the container is not enabled; passing restore to runc unchanged")
		return 0, false
	}
	refuse := func(why string, err error) (int, bool) {
		c.fail("arch-wrapper: restore from ARCH's image reference refused: "+why, err)
		return exitArchError, true
	}
	ref, err := readImageRef(images)
	if err != nil {
		return refuse(err.Error(), err)
	}
	if why := unservedRestoreFlags(c.cmd); why != "" {
		return refuse(why, nil)
	}
	if d.Usable() {
		if ref.Key != d.Key {
			return refuse(fmt.Sprintf("it names key %q, and this container's key is %q", ref.Key, d.Key), nil)
		}
		if filepath.Clean(ref.Store) != filepath.Clean(d.Store) {
			return refuse(fmt.Sprintf("it names store %q, and this container's store is %q", ref.Store, d.Store), nil)
		}
	}
	rec, held, why, err := c.enroll(b, d)
	if rec == nil {
		return refuse(why, err)
	}
	defer held.Release()
	// A refused restore leaves no record: runc never made the container.
	refuseEnrolled := func(why string, err error) (int, bool) {
		c.records().Remove(c.root(), c.cmd.ID)
		return refuse(why, err)
	}
	log := c.logger().With().Str("key", rec.Key).Str("store", rec.Store).Logger()
	ph := newPhases()
	store, err := c.openStore(rec.Store)
	if err != nil {
		return refuseEnrolled("checkpoint store unusable: "+err.Error(), err)
	}
	key := d.ParsedKey()
	img, err := store.Current(key)
	if errors.Is(err, ckpt.ErrNoImage) {
		return refuseEnrolled(fmt.Sprintf("it names image %s, and key %q has no image in the store", ref.ImageID, ref.Key), err)
	}
	if err != nil {
		return refuseEnrolled("checkpoint image unusable: "+err.Error(), err)
	}
	defer img.Close()
	if img.ID() != ref.ImageID {
		return refuseEnrolled(fmt.Sprintf("it names image %s, and key %q's current image is %s (only a key's latest checkpoint restores)", ref.ImageID, ref.Key, img.ID()), nil)
	}
	if nr := c.restoreImage(store, key, img, b, rec, d.WorkDir != "", false, ph, &log); nr != nil {
		nr.log(&log, "")
		return refuseEnrolled(nr.Error(), nr.err)
	}
	log.Info().Strs("argv", c.argvForLog()).Dict("phases", ph.dict()).Msg("restore served from ARCH's image reference")
	return 0, true
}

// unservedRestoreFlags says why ARCH cannot serve a restore asked with
// these flags ("" when it can): a lazy restore waits for a page server
// that ARCH's image has no use for.
func unservedRestoreFlags(cmd *runccmd.Command) string {
	if cmd.Bool("lazy-pages") {
		return "ARCH does not serve --lazy-pages"
	}
	return ""
}
