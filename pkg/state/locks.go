package state

import (
	"context"

	"github.com/arch-ckpt/arch/pkg/flock"
)

// A container's locks are files beside its record, taken through
// pkg/flock (one primitive: a deadline from a context, a re-check after
// taking, safe removal):
//
//   - <record>.lock serialises ARCH's mutating calls on the container
//     (create, start, checkpoint, resume, delete, kill's mark); exclusive.
//   - <record>.gate.lock and <record>.freeze.lock keep execs and freezes
//     apart, a gated lock (flock.Gated): runc 1.1 (and later, runc issue
//     #4481) hangs for good when an exec races a freeze of the same
//     container: `runc exec` passes its "paused?" check, the cgroup is
//     frozen, and its `runc init` freezes while joining it, with runc exec,
//     the shim and the checkpoint that froze the container waiting on it.
//     Every checkpoint starts with a freeze, so for enabled containers an
//     exec (detached, as the shim's are) holds the lock shared and a freeze
//     (pause, kill --all, delete --force, ARCH's own freeze) exclusive; the
//     gate keeps a stream of probes from starving a freeze.
//
// A lock handed to a runc exec'd in place of ARCH (flock.Lock.Inheritable)
// is released when that runc exits.

// Lock takes the record lock of container root/id, waiting until ctx is
// done.
func (r Records) Lock(ctx context.Context, root, id string) (*flock.Lock, error) {
	p, err := r.Path(root, id)
	if err != nil {
		return nil, err
	}
	return flock.Acquire(ctx, flock.Path(p+".lock"), flock.Exclusive)
}

// ExecLock takes the freeze lock shared, for an exec into container
// root/id.
func (r Records) ExecLock(ctx context.Context, root, id string) (*flock.Lock, error) {
	g, err := r.freezeLock(root, id)
	if err != nil {
		return nil, err
	}
	return flock.AcquireGated(ctx, g, flock.Shared)
}

// FreezeLock takes the freeze lock exclusive, for freezing container
// root/id: no exec is under way and none starts until it is released.
func (r Records) FreezeLock(ctx context.Context, root, id string) (*flock.Lock, error) {
	g, err := r.freezeLock(root, id)
	if err != nil {
		return nil, err
	}
	return flock.AcquireGated(ctx, g, flock.Exclusive)
}

func (r Records) freezeLock(root, id string) (flock.Gated, error) {
	p, err := r.Path(root, id)
	if err != nil {
		return flock.Gated{}, err
	}
	return flock.Gated{Gate: flock.Path(p + ".gate.lock"), Lock: flock.Path(p + ".freeze.lock")}, nil
}

// RemoveFreezeLock removes the freeze lock files of a container that is
// gone for good (after delete), so that the state folder does not fill
// with them: it takes the lock exclusive (within ctx) to remove it
// safely, or leaves the files when an exec still holds it.
func (r Records) RemoveFreezeLock(ctx context.Context, root, id string) error {
	l, err := r.FreezeLock(ctx, root, id)
	if err != nil {
		return err
	}
	return l.Remove()
}
