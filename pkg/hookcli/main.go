// Package hookcli is arch-hook's command line: the OCI hook entry points
// runc calls, and the operator's commands.
package hookcli

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/arch-ckpt/arch/pkg/archlog"
	"github.com/arch-ckpt/arch/pkg/config"
)

// env is what every subcommand gets.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	summary string
	run     func(e *env, args []string) int
}

var commands = map[string]command{}

func register(name, summary string, run func(e *env, args []string) int) {
	commands[name] = command{summary: summary, run: run}
}

// Main runs arch-hook and returns its exit status.
func Main(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(argv) < 2 || argv[1] == "-h" || argv[1] == "--help" || argv[1] == "help" {
		usage(stderr)
		if len(argv) < 2 {
			return 2
		}
		return 0
	}
	if argv[1] == "--version" || argv[1] == "version" {
		fmt.Fprintln(stdout, "arch-hook", Version)
		return 0
	}
	cmd, ok := commands[argv[1]]
	if !ok {
		fmt.Fprintf(stderr, "arch-hook: unknown command %q\n", argv[1])
		usage(stderr)
		return 2
	}
	return cmd.run(e, argv[2:])
}

// Version is stamped at build time (-ldflags -X).
var Version = "dev"

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: arch-hook COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
}

// newFlags returns a flag set that reports errors on stderr.
func newFlags(e *env, name, args string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: arch-hook %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// loadConfig reads the node configuration (path "" = ARCH_CONFIG or default).
func (e *env) loadConfig(path string) (config.Config, error) {
	getenv := e.getenv
	if path != "" {
		getenv = func(k string) string {
			if k == config.EnvConfig {
				return path
			}
			return e.getenv(k)
		}
	}
	return config.Load(getenv)
}

// openLog opens ARCH's log for a subcommand.
func openLog(cfg config.Config, component string) (zerolog.Logger, func()) {
	l, c := archlog.Open(cfg.LogFile, cfg.LogLevel, component)
	return l, func() { c.Close() }
}
