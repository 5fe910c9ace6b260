package wrapper

import (
	"context"
	"fmt"
	"os"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/atomicfile"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/netlock"
	"github.com/arch-ckpt/arch/pkg/realrunc"
)

// A checkpoint must keep the container frozen until its image is committed,
// so the dump runs with --leave-running: runc then neither kills nor
// destroys the container. But CRIU's leave-running also unlocks the
// container's network after the dump (two iptables-restore runs, 50-80 ms
// here), for a container ARCH stops right after. CRIU's "leave-stopped",
// given in the container's CRIU configuration file (org.criu.config, which
// overrides runc's RPC options), leaves the tasks stopped instead and the
// network locked, as a plain checkpoint does. If the commit then fails,
// revive undoes both.

// criuLeaveStopped is the content of the CRIU configuration for the dump.
const criuLeaveStopped = "leave-stopped\n"

// stoppedDumpConfig returns the CRIU configuration file through which this
// checkpoint's dump leaves the tasks stopped, or "" for a plain
// --leave-running dump:
//   - when the container was not created with ARCH's annotation;
//   - when it joins a network namespace that outlives it (a pod's, another
//     container's): CRIU locks that one too, and only a dump that leaves
//     the tasks running unlocks it;
//   - when the caller asked for what only CRIU itself can undo after a
//     dump that leaves the tasks running (established TCP connections stay
//     in repair mode, link-remap files in the rootfs) or for a dump that is
//     not the final one.
func (c *call) stoppedDumpConfig(b *bundle.Bundle) string {
	recPath, err := c.records().Path(c.root(), c.cmd.ID)
	if err != nil {
		return ""
	}
	conf := archspec.CriuConfigPath(recPath)
	if conf == "" || b.Spec.Annotations[archspec.AnnotationCriuConfig] != conf || joinsNetns(b) {
		return ""
	}
	for _, flag := range []string{"tcp-established", "link-remap", "pre-dump", "lazy-pages", "page-server"} {
		if _, set := c.cmd.Get(flag); set {
			return ""
		}
	}
	return conf
}

// joinsNetns reports whether the container joins an existing network
// namespace (one given by path in config.json).
func joinsNetns(b *bundle.Bundle) bool {
	if b.Spec.Linux == nil {
		return false
	}
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type == "network" && ns.Path != "" {
			return true
		}
	}
	return false
}

// writeCriuConfig writes the dump's CRIU configuration. Without it the dump
// still works, as a plain --leave-running one.
func writeCriuConfig(conf string, log *zerolog.Logger) bool {
	if err := atomicfile.WriteFile(conf, []byte(criuLeaveStopped), 0o600); err != nil {
		log.Warn().Err(err).Msg("checkpoint: cannot write the CRIU configuration; dumping with --leave-running only")
		return false
	}
	return true
}

// revive makes a frozen container that was dumped but must go on running
// whole again: it removes CRIU's network lock (left by a stopped dump, or by
// a CRIU killed on timeout) and, when the dump left the tasks stopped, sends
// every process SIGCONT, which takes effect when the container is thawed.
func (c *call) revive(ctx context.Context, r *realrunc.Runner, pid int, leftStopped bool, log *zerolog.Logger) {
	if pid > 0 {
		if unlocked, err := netlock.Unlock(ctx, pid); err != nil {
			log.Error().Err(err).Msg("checkpoint: cannot remove CRIU's network lock; the container's network stays blocked")
		} else if unlocked {
			log.Info().Msg("checkpoint: CRIU's network lock removed")
		}
	}
	if !leftStopped {
		return
	}
	pids, err := r.Pids(ctx, c.cmd.ID)
	if err != nil {
		log.Error().Err(err).Msg("checkpoint: cannot list the container's processes to continue them")
		return
	}
	for _, p := range pids {
		if err := unix.Kill(p, unix.SIGCONT); err != nil && err != unix.ESRCH {
			log.Error().Err(fmt.Errorf("SIGCONT %d: %w", p, err)).Msg("checkpoint: cannot continue a process")
		}
	}
}

// removeCriuConfig removes the dump's CRIU configuration: a later restore or
// plain runc call must not leave its tasks stopped.
func removeCriuConfig(conf string, log *zerolog.Logger) {
	if err := os.Remove(conf); err != nil && !os.IsNotExist(err) {
		log.Error().Err(err).Str("file", conf).Msg("checkpoint: cannot remove the CRIU configuration")
	}
}
