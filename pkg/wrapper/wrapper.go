// Package wrapper is arch-wrapper's logic: decide, for each runc call,
// whether ARCH has anything to do, and otherwise hand the call to the real
// runc untouched.
package wrapper

import (
	"os"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/archlog"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/realrunc"
	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/state"
)

// Exit statuses of calls ARCH could not hand to runc.
const (
	exitArchError    = 1
	exitRuncNotFound = 127
)

// call is one invocation of the wrapper.
type call struct {
	argv   []string // as received, argv[0] included
	env    []string
	getenv func(string) string
	cmd    *runccmd.Command
	cfg    config.Config
	// rc is the real runc (runc.go: the seam the unit tests fake).
	rc   runc
	self string
	// cfgErr is set when the configuration file could not be read entirely:
	// ARCH then starts nothing new (create and checkpoint pass through) but
	// still completes what it started (skipped start/resume, delete).
	cfgErr error

	// initStart is the start time of the container's init process when a
	// checkpoint kills it (to tell it from a process that reuses its pid).
	initStart string
	// ctr is the call's container, once looked up (container.go).
	ctr *state.Container

	log     zerolog.Logger
	logOpen bool
	closers []func() error
	// freezeCall is this call's number among those that froze the
	// container, for EnvFreezeFails (0: not counted yet).
	freezeCall int
}

// Main runs the wrapper and returns the exit status. On the pass-through
// path it does not return: the process becomes the real runc.
func Main(argv, env []string) int {
	c := &call{argv: argv, env: env, getenv: envLookup(env)}
	defer c.close()
	return c.run()
}

func (c *call) run() int {
	cfgErr, locateErr, parseErr := c.setup()
	if locateErr != nil {
		c.fail("arch-wrapper: "+locateErr.Error(), locateErr)
		return exitRuncNotFound
	}
	if cfgErr != nil {
		// Only ARCH's log: pass-through calls must not fill every container's
		// log.json. Calls whose behaviour changes say so in runc's log too.
		c.logger().Warn().Err(cfgErr).Msg("ARCH configuration has errors; defaults used where a line was wrong")
	}
	if parseErr != nil {
		c.warn("arch-wrapper: cannot parse the runc command line ("+parseErr.Error()+"); passing it to runc unchanged", parseErr)
	} else if code, handled := c.dispatch(); handled {
		return code
	}
	return c.passthrough()
}

// setup reads the configuration, finds the real runc and parses the
// command line, without logging: run reports the errors.
func (c *call) setup() (cfgErr, locateErr, parseErr error) {
	c.cfg, cfgErr = config.Load(c.getenv)
	c.cfgErr = cfgErr
	c.self, _ = os.Executable()
	runc, locateErr := realrunc.Locate(c.cfg.Runc, c.getenv("PATH"), c.self)
	if locateErr != nil {
		return cfgErr, locateErr, nil
	}
	if len(c.argv) > 1 {
		c.cmd, parseErr = runccmd.Parse(c.argv[1:])
	}
	var global []string
	if c.cmd != nil {
		global = c.cmd.RenderGlobal()
	}
	c.rc = &realrunc.Runc{Path: runc, Env: c.env, Global: global}
	return cfgErr, nil, parseErr
}

// PassesThrough reports whether Main would hand argv (program name
// included) to the real runc unchanged, ARCH doing nothing else, and which
// runc: false when a handler of ARCH gets the call (it may still pass it
// on after a look at the container) or when no runc can be found. It
// writes nothing (no log, no lock). pkg/fastpath's differential tests hold
// the C fast path to it: whatever C hands straight to runc, this must too.
func PassesThrough(argv, env []string) (runc string, ok bool) {
	c := &call{argv: argv, env: env, getenv: envLookup(env)}
	_, locateErr, parseErr := c.setup()
	if locateErr != nil {
		return "", false
	}
	return c.rc.(*realrunc.Runc).Path, parseErr != nil || c.handler() == nil
}

// handlers are ARCH's handlers by subcommand: every other subcommand goes
// to runc unchanged (and pkg/fastpath hands it over before Go starts). A
// handler returns handled false to send the call to runc unchanged.
var handlers = map[string]func(c *call) (code int, handled bool){
	"create": (*call).create,
	"start": func(c *call) (int, bool) {
		return c.skipOnce("start", func(r *state.Record) *bool { return &r.SkipStart })
	},
	"resume": func(c *call) (int, bool) {
		return c.skipOnce("resume", func(r *state.Record) *bool { return &r.SkipResume })
	},
	"checkpoint": (*call).checkpoint,
	"restore":    (*call).restoreFromRef,
	"delete":     (*call).delete,
	"kill":       (*call).kill,
	"exec":       (*call).serializedExec,
	"pause":      (*call).serializedPause,
}

// Intercepted lists the subcommands ARCH may handle itself, sorted.
func Intercepted() []string {
	names := make([]string, 0, len(handlers))
	for name := range handlers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// declines are side-effect-free checks made before a handler runs: true
// means it would send the call to runc unchanged anyway. They are what
// PassesThrough (and so the C fast path's tests) knows of the handlers.
var declines = map[string]func(c *call) bool{
	// Only detached execs of enabled containers are serialized.
	"exec":  func(c *call) bool { return !c.cmd.Bool("detach") || !c.container().Enabled() },
	"pause": func(c *call) bool { return !c.container().Enabled() },
	// Only a restore from an ARCH image reference is ARCH's.
	"restore": func(c *call) bool {
		images, _ := c.cmd.Get("image-path")
		return !hasImageRef(images)
	},
}

// handler returns ARCH's handler for the parsed call, nil when the call
// goes to runc unchanged.
func (c *call) handler() func(c *call) (code int, handled bool) {
	if c.cmd == nil {
		return nil
	}
	h, ok := handlers[c.cmd.Name]
	if !ok || !c.cmd.HasID {
		return nil
	}
	if c.cmd.GlobalBool("version") || c.cmd.GlobalBool("help") {
		// runc prints its version or help and runs no subcommand (urfave/cli
		// checks these flags first): there is nothing to handle, and a
		// create handled here would leave a record of a container runc
		// never made.
		return nil
	}
	if d := declines[c.cmd.Name]; d != nil && d(c) {
		return nil
	}
	return h
}

// dispatch gives a call to ARCH's handler for its subcommand. handled is
// false when the call must go to runc unchanged.
func (c *call) dispatch() (code int, handled bool) {
	if h := c.handler(); h != nil {
		return h(c)
	}
	return 0, false
}

// passthrough replaces the process with the real runc.
func (c *call) passthrough() int {
	err := c.rc.Exec(c.argv, c.env)
	c.fail("arch-wrapper: "+err.Error(), err)
	return exitRuncNotFound
}

// root is runc's state root for this call (runc's own default when absent).
func (c *call) root() string {
	if c.cmd != nil {
		if r, ok := c.cmd.GlobalGet("root"); ok && r != "" {
			return r
		}
	}
	return "/run/runc"
}

func (c *call) records() state.Records {
	return state.NodeRecords(c.cfg.StateDir)
}

// runcLog is the --log file the caller gave runc, if any.
func (c *call) runcLog() string {
	if c.cmd != nil {
		if p, ok := c.cmd.GlobalGet("log"); ok {
			return p
		}
		return ""
	}
	return scanLogFlag(c.argv)
}

// scanLogFlag finds --log in an argv the parser rejected.
func scanLogFlag(argv []string) string {
	for i, a := range argv {
		for _, f := range []string{"--log", "-log"} {
			if a == f && i+1 < len(argv) {
				return argv[i+1]
			}
			if strings.HasPrefix(a, f+"=") {
				return a[len(f)+1:]
			}
		}
	}
	return ""
}

func envLookup(env []string) func(string) string {
	return func(name string) string {
		val := ""
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				val = v
			}
		}
		return val
	}
}

func (c *call) close() {
	for _, f := range c.closers {
		f()
	}
}

// logger opens ARCH's log on first use: pass-through calls never pay for it.
func (c *call) logger() *zerolog.Logger {
	if !c.logOpen {
		l, closer := archlog.Open(c.cfg.LogFile, c.cfg.LogLevel, "wrapper")
		c.log = l.With().Str("cmd", c.subcommand()).Logger()
		if c.cmd != nil && c.cmd.ID != "" {
			c.log = c.log.With().Str("id", c.cmd.ID).Logger()
		}
		c.closers = append(c.closers, closer.Close)
		c.logOpen = true
	}
	return &c.log
}

func (c *call) subcommand() string {
	if c.cmd != nil {
		return c.cmd.Name
	}
	return ""
}

// fail records an error that makes the call fail: in runc's --log (what
// containerd shows the user) and in ARCH's log.
func (c *call) fail(msg string, err error) {
	c.logger().Error().Err(err).Strs("argv", c.argvForLog()).Msg(msg)
	if err := archlog.RuncLog(c.runcLog(), "error", msg); err != nil {
		c.logger().Warn().Err(err).Msg("cannot write runc's log")
	}
}

// warn records a problem that does not make the call fail.
func (c *call) warn(msg string, err error) {
	c.logger().Warn().Err(err).Strs("argv", c.argvForLog()).Msg(msg)
	if err := archlog.RuncLog(c.runcLog(), "warning", msg); err != nil {
		c.logger().Warn().Err(err).Msg("cannot write runc's log")
	}
}

func (c *call) argvForLog() []string {
	if len(c.argv) == 0 {
		return nil
	}
	return c.argv[1:]
}
