package wrapper

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/atomicfile"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/netlock"
	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/specpatch"
	"github.com/arch-ckpt/arch/pkg/state"
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

// dumpPlan is how this checkpoint's dump runs beyond the caller's flags:
// what ARCH's CRIU configuration file says for it, and the flags ARCH adds.
type dumpPlan struct {
	conf        string   // ARCH's CRIU configuration file ("" = none is written)
	lines       []string // its options, one per line
	leftStopped bool     // the dump leaves the tasks stopped (leave-stopped)
	tcp         string   // how established TCP connections are dumped: ckpt.TCPClosed, ckpt.TCPEstablished or ""
	flags       []string // boolean runc checkpoint flags ARCH adds
}

// settleTCP drops tcp-close from the plan when the container, frozen as
// process pid, holds no connected TCP socket: CRIU records the option in
// the image and then requires it at the restore, which only ARCH's own
// CRIU configuration file can give (a node with /etc/criu/runc.conf, a
// container with its own org.criu.config could not restore it).
func (p *dumpPlan) settleTCP(pid int) {
	if p.tcp != ckpt.TCPClosed || connectedTCP(pid) {
		return
	}
	p.tcp = ""
	p.lines = slices.DeleteFunc(p.lines, func(l string) bool { return l == "tcp-close" })
}

// planDump decides the dump's CRIU options.
//
// Established TCP connections follow tcp_established: closed (CRIU's
// tcp-close, through the configuration file: runc has no flag for it),
// kept (--tcp-established) or refused (neither: CRIU fails on them). A
// caller's own --tcp-established wins.
//
// The tasks are left stopped (leave-stopped) unless:
//   - the container was not created with ARCH's annotation (no file);
//   - it joins a network namespace that outlives it (a pod's, another
//     container's): CRIU locks that one too, and only a dump that leaves
//     the tasks running unlocks it;
//   - the dump keeps what only CRIU itself can undo after a dump that
//     leaves the tasks running (established TCP connections stay in repair
//     mode, link-remap files in the rootfs), or is not the final one.
func (c *call) planDump(b *bundle.Bundle, log *zerolog.Logger) dumpPlan {
	p := dumpPlan{conf: c.ownCriuConfig(b)}
	_, callerKeeps := c.cmd.Get("tcp-established")
	switch {
	case callerKeeps:
		p.tcp = ckpt.TCPEstablished
	case c.cfg.TCPEstablished == config.TCPKeep:
		p.tcp, p.flags = ckpt.TCPEstablished, []string{"tcp-established"}
	case c.cfg.TCPEstablished == config.TCPClose && p.conf != "":
		p.tcp, p.lines = ckpt.TCPClosed, []string{"tcp-close"}
	case c.cfg.TCPEstablished == config.TCPClose:
		log.Warn().Msg("checkpoint: tcp_established = close needs ARCH's CRIU configuration file, which this container does not have (its own org.criu.config, or /etc/criu/runc.conf); established TCP connections make the dump fail")
	}
	stoppable := p.conf != "" && p.tcp != ckpt.TCPEstablished && !joinsNetns(b)
	for _, flag := range []string{"link-remap", "pre-dump", "lazy-pages", "page-server"} {
		if _, set := c.cmd.Get(flag); set {
			stoppable = false
		}
	}
	if stoppable {
		p.leftStopped = true
		p.lines = append(p.lines, "leave-stopped")
	}
	return p
}

// apply writes the plan's CRIU configuration file (when it has one) and
// adds its flags to the dump's command line. A file that cannot be written
// leaves a plain --leave-running dump, whose tasks run on and whose
// connections are not closed: the plan says so afterwards.
func (p *dumpPlan) apply(dump *runccmd.Command, log *zerolog.Logger) (cleanup func()) {
	for _, f := range p.flags {
		dump.SetBool(f)
	}
	if p.conf == "" {
		return func() {}
	}
	if len(p.lines) == 0 {
		// Nothing to say: no file, not even a stale one.
		removeCriuConfig(p.conf, log)
		return func() {}
	}
	if err := writeCriuConfig(p.conf, p.lines); err != nil {
		log.Warn().Err(err).Msg("checkpoint: cannot write the CRIU configuration; dumping with --leave-running only")
		p.lines, p.leftStopped = nil, false
		if p.tcp == ckpt.TCPClosed {
			p.tcp = ""
		}
		return func() {}
	}
	conf := p.conf
	return func() { removeCriuConfig(conf, log) } // also when the dump fails
}

// ownCriuConfig is ARCH's CRIU configuration file of the container, ""
// when runc would not hand it to CRIU: the container was created without
// ARCH's org.criu.config annotation (it has its own, or the node has
// /etc/criu/runc.conf, which the annotation would replace).
func (c *call) ownCriuConfig(b *bundle.Bundle) string {
	recPath, err := c.records().Path(c.root(), c.cmd.ID)
	if err != nil {
		return ""
	}
	// What runc hands CRIU is what the annotation names, whatever the
	// node has become since the create.
	if conf := state.CriuConfigFile(recPath); b.Spec.Annotations[archspec.AnnotationCriuConfig] == conf {
		return conf
	}
	return ""
}

// restorePlan is what ARCH adds to runc restore for one image.
type restorePlan struct {
	conf     string   // ARCH's CRIU configuration file ("" = none is written)
	lines    []string // its options
	flags    []string // boolean runc restore flags ARCH adds
	loopback bool     // add the loopback hook: runc creates the network namespace
	// identity waits for the container's identity (its layers' fingerprint).
	identity func() archspec.Identity
}

// planRestore decides how image m restores into the container of bundle b,
// or says why it cannot: connections dumped without their state need
// CRIU's tcp-close at the restore too, which only ARCH's configuration file
// can give (runc has no flag for it).
func (c *call) planRestore(b *bundle.Bundle, m *ckpt.Manifest) (restorePlan, string) {
	p := restorePlan{loopback: archspec.RuncCreatesNetns(b.Spec)}
	switch m.Network.TCP {
	case ckpt.TCPEstablished:
		p.flags = []string{"tcp-established"}
	case ckpt.TCPClosed:
		p.conf = c.ownCriuConfig(b)
		if why := archspec.NetworkMismatch(m, p.conf != ""); why != "" {
			return p, why
		}
		p.lines = []string{"tcp-close"}
	}
	return p, ""
}

// apply prepares the restore: its flags on the command line, ARCH's CRIU
// configuration file, and the loopback hook in config.json. cleanup undoes
// the last two once runc restore has returned: a fallback create must not
// depend on the hook, nor a later call read the file.
func (p *restorePlan) apply(restore *runccmd.Command, b *bundle.Bundle, hook hookRef, log *zerolog.Logger) (cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for _, f := range undo {
			f()
		}
	}
	for _, f := range p.flags {
		restore.SetBool(f)
	}
	if p.loopback {
		config := filepath.Join(b.Dir, bundle.ConfigName)
		h := archspec.LoopbackHook(hook.path, hook.config)
		added, err := specpatch.PatchFile(config, func(d *specpatch.Doc) error {
			_, err := d.AddHook(archspec.LoopbackStage, h)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("add the loopback hook: %w", err)
		}
		if added {
			undo = append(undo, func() {
				if _, err := specpatch.PatchFile(config, specpatch.WithoutHooks(archspec.LoopbackStage, hook.path)); err != nil {
					log.Warn().Err(err).Msg("restore: cannot remove the loopback hook from config.json")
				}
			})
		}
	}
	if p.conf != "" {
		if err := writeCriuConfig(p.conf, p.lines); err != nil {
			cleanup()
			return nil, fmt.Errorf("write the CRIU configuration: %w", err)
		}
		conf := p.conf
		undo = append(undo, func() { removeCriuConfig(conf, log) })
	}
	return cleanup, nil
}

// hookRef names the arch-hook binary and the configuration it is given.
type hookRef struct{ path, config string }

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

// writeCriuConfig writes a CRIU configuration file: its options, one per
// line, as CRIU reads them (without the leading dashes). runc hands the
// file named by the container's org.criu.config annotation to CRIU for
// every dump and restore; it exists only while ARCH runs one.
func writeCriuConfig(conf string, lines []string) error {
	return atomicfile.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// unlockNetwork removes CRIU's network lock of the container whose init is
// pid (pkg/netlock; replaced by the unit tests, whose "containers" are
// processes of the host's network namespace).
var unlockNetwork = netlock.Unlock

// revive makes a frozen container that was dumped but must go on running
// whole again: it removes CRIU's network lock (left by a stopped dump, or by
// a CRIU killed on timeout) and, when the dump left the tasks stopped, sends
// every process SIGCONT, which takes effect when the container is thawed.
func (c *call) revive(ctx context.Context, pid int, leftStopped bool, log *zerolog.Logger) {
	if pid > 0 {
		if unlocked, err := unlockNetwork(ctx, pid); err != nil {
			log.Error().Err(err).Msg("checkpoint: cannot remove CRIU's network lock; the container's network stays blocked")
		} else if unlocked {
			log.Info().Msg("checkpoint: CRIU's network lock removed")
		}
	}
	if !leftStopped {
		return
	}
	pids, err := c.rc.Pids(ctx, c.cmd.ID)
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

// removeCriuConfig removes ARCH's CRIU configuration: a later restore or
// plain runc call must not leave its tasks stopped.
func removeCriuConfig(conf string, log *zerolog.Logger) {
	if err := os.Remove(conf); err != nil && !os.IsNotExist(err) {
		log.Error().Err(err).Str("file", conf).Msg("checkpoint: cannot remove the CRIU configuration")
	}
}

// adoptContainerDumpLog puts CRIU's dump log where ARCH reads it
// (staging/work/dump.log) when the container's own CRIU configuration file
// (its org.criu.config, which overrides runc's options) sent it elsewhere
// with log-file: a relative name is in CRIU's work folder, as CRIU reads
// it. Without it, every checkpoint of such a container would fail for want
// of the proof that the dump finished.
func (c *call) adoptContainerDumpLog(b *bundle.Bundle, staging string, log *zerolog.Logger) {
	work := filepath.Join(staging, "work")
	want := filepath.Join(work, "dump.log")
	if _, err := os.Lstat(want); err == nil {
		return
	}
	conf := b.Spec.Annotations[archspec.AnnotationCriuConfig]
	if conf == "" || conf == c.ownCriuConfig(b) {
		conf = archspec.RuncCriuConfig
	}
	name := criuConfigLogFile(conf)
	if name == "" {
		return
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(work, name)
	}
	if err := linkOrCopy(name, want); err != nil {
		log.Warn().Err(err).Str("log_file", name).Msg("checkpoint: cannot take CRIU's log from where the container's CRIU configuration put it")
		return
	}
	log.Info().Str("log_file", name).Str("criu_config", conf).Msg("checkpoint: CRIU's log taken from where the container's CRIU configuration put it")
}

// criuConfigLogFile returns the log-file a CRIU configuration file names
// ("" for none, or no file). CRIU reads one option per line, without its
// leading dashes, its value after a space or "=".
func criuConfigLogFile(conf string) string {
	f, err := os.Open(conf)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return ""
	}
	name := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		opt, val, ok := strings.Cut(strings.TrimLeft(line, "-"), "=")
		if !ok {
			opt, val, _ = strings.Cut(strings.TrimLeft(line, "-"), " ")
		}
		if strings.TrimSpace(opt) == "log-file" {
			name = strings.Trim(strings.TrimSpace(val), `"'`)
		}
	}
	return name
}
