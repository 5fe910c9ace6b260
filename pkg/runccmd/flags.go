package runccmd

import "slices"

// flagKind says how a flag consumes tokens.
type flagKind int

const (
	kindUnknown flagKind = iota
	kindBool
	kindValue
)

// flagTable describes the flags of one subcommand (or the global ones).
type flagTable struct {
	kinds map[string]flagKind // canonical name -> kind
	alias map[string]string   // short name -> canonical name
	// atMostOnePositional: the subcommand takes at most one positional
	// (the id), so an unknown flag may take the next token as its value
	// when another positional follows it.
	atMostOnePositional bool
}

// lookup resolves a flag name as written (without dashes) to its canonical
// name and kind. Unknown names are returned unchanged.
func (t *flagTable) lookup(name string) (string, flagKind) {
	if long, ok := t.alias[name]; ok {
		name = long
	}
	return name, t.kinds[name]
}

// canonical resolves an alias ("b") to its long name ("bundle").
func (t *flagTable) canonical(name string) string {
	n, _ := t.lookup(name)
	return n
}

// table builds a flagTable. Every urfave/cli command also has help/-h.
func table(values, bools []string, alias map[string]string, onePositional bool) *flagTable {
	t := &flagTable{
		kinds:               map[string]flagKind{"help": kindBool},
		alias:               map[string]string{"h": "help"},
		atMostOnePositional: onePositional,
	}
	for _, v := range values {
		t.kinds[v] = kindValue
	}
	for _, b := range bools {
		t.kinds[b] = kindBool
	}
	for short, long := range alias {
		t.alias[short] = long
	}
	return t
}

// globalFlags are runc's flags before the subcommand.
var globalFlags = table(
	[]string{"log", "log-format", "root", "rootless", "criu"},
	[]string{"debug", "systemd-cgroup", "version"},
	map[string]string{"v": "version"},
	false,
)

// GlobalFlagNames lists runc's global flags that take a value and the
// boolean ones (long names, sorted; help and version included). The C fast
// path keeps its own copy; its test compares the two.
func GlobalFlagNames() (values, bools []string) {
	for name, kind := range globalFlags.kinds {
		switch kind {
		case kindValue:
			values = append(values, name)
		case kindBool:
			bools = append(bools, name)
		}
	}
	slices.Sort(values)
	slices.Sort(bools)
	return values, bools
}

var (
	createValues = []string{"bundle", "config", "console-socket", "pidfd-socket", "pid-file", "preserve-fds"}
	createBools  = []string{"no-pivot", "no-new-keyring"}
)

// subcommands maps the subcommands runc has to their flags. A subcommand
// missing here gets unknownTable.
var subcommands = map[string]*flagTable{
	"create": table(createValues, createBools, map[string]string{"b": "bundle"}, true),
	"run": table(createValues,
		append([]string{"detach", "keep", "no-subreaper"}, createBools...),
		map[string]string{"b": "bundle", "d": "detach"}, true),
	"restore": table(
		[]string{"console-socket", "image-path", "work-path", "manage-cgroups-mode", "bundle",
			"pid-file", "empty-ns", "lsm-profile", "lsm-mount-context"},
		[]string{"tcp-established", "ext-unix-sk", "shell-job", "file-locks", "detach",
			"no-subreaper", "no-pivot", "auto-dedup", "lazy-pages"},
		map[string]string{"b": "bundle", "d": "detach"}, true),
	"checkpoint": table(
		[]string{"image-path", "work-path", "parent-path", "status-fd", "page-server",
			"manage-cgroups-mode", "empty-ns"},
		[]string{"leave-running", "tcp-established", "tcp-skip-in-flight", "link-remap",
			"ext-unix-sk", "shell-job", "lazy-pages", "file-locks", "pre-dump", "auto-dedup"},
		nil, true),
	"exec": table(
		[]string{"console-socket", "pidfd-socket", "cwd", "env", "user", "additional-gids",
			"process", "pid-file", "process-label", "apparmor", "cap", "preserve-fds", "cgroup"},
		[]string{"tty", "detach", "no-new-privs", "ignore-paused"},
		map[string]string{"e": "env", "u": "user", "g": "additional-gids", "p": "process",
			"c": "cap", "t": "tty", "d": "detach"}, false),
	"kill":   table(nil, []string{"all"}, map[string]string{"a": "all"}, false),
	"delete": table(nil, []string{"force"}, map[string]string{"f": "force"}, true),
	"ps":     table([]string{"format"}, nil, map[string]string{"f": "format"}, false),
	"events": table([]string{"interval"}, []string{"stats"}, nil, true),
	"update": table(
		[]string{"resources", "blkio-weight", "cpu-period", "cpu-quota", "cpu-burst", "cpu-share",
			"cpu-rt-period", "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "kernel-memory",
			"kernel-memory-tcp", "memory", "cpu-idle", "memory-reservation", "memory-swap",
			"pids-limit", "l3-cache-schema", "mem-bw-schema"},
		nil, map[string]string{"r": "resources"}, true),
	"start":  table(nil, nil, nil, true),
	"state":  table(nil, nil, nil, true),
	"pause":  table(nil, nil, nil, true),
	"resume": table(nil, nil, nil, true),
	// No caller sends these (docs/runc-contract.md); flags read from
	// runc's list.go and spec.go.
	"list": table([]string{"format"}, []string{"quiet"}, map[string]string{"f": "format", "q": "quiet"}, false),
	"spec": table([]string{"bundle"}, []string{"rootless"}, map[string]string{"b": "bundle"}, false),
}

// unknownTable serves subcommands runc may add later (and features, help):
// their flags are boolean unless written with "=".
var unknownTable = table(nil, nil, nil, false)

// flagsOf returns the flag table of a subcommand.
func flagsOf(name string) *flagTable {
	if t, ok := subcommands[name]; ok {
		return t
	}
	return unknownTable
}

// takesID reports whether a subcommand's first positional is a container id.
func takesID(name string) bool {
	switch name {
	case "", "list", "spec", "features", "help", "h", "init":
		return false
	}
	return true
}

// isSubcommand reports whether s names a subcommand runc has. It is used only
// to guess whether an unknown global flag takes a value.
func isSubcommand(s string) bool {
	if _, ok := subcommands[s]; ok {
		return true
	}
	switch s {
	case "features", "help", "h", "init":
		return true
	}
	return false
}
