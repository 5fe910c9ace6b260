package fastpath

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/pkg/runccmd"
	"github.com/arch-ckpt/arch/pkg/wrapper"
)

// cList returns the strings of the C array name in fastpath.c.
func cList(t *testing.T, src, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)static const char \*` + name + `\[\] = \{(.*?)NULL\};`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("fastpath.c has no array %s", name)
	}
	var out []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, q[1])
	}
	slices.Sort(out)
	return out
}

// The C fast path keeps its own copy of what Go knows: runc's global flags
// (to find the subcommand) and the subcommands ARCH never handles (or only
// for enabled containers). A flag
// the C side misses would make it skip a value as the subcommand; a
// subcommand both sides claim would bypass ARCH.
func TestCTablesMatchGo(t *testing.T) {
	data, err := os.ReadFile("fastpath.c")
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	values, bools := runccmd.GlobalFlagNames()
	if got := cList(t, src, "global_value_flags"); !slices.Equal(got, values) {
		t.Errorf("global_value_flags = %q, runccmd has %q", got, values)
	}
	// help and version are answered by the C side's own checks.
	bools = slices.DeleteFunc(bools, func(s string) bool { return s == "help" || s == "version" })
	if got := cList(t, src, "global_bool_flags"); !slices.Equal(got, bools) {
		t.Errorf("global_bool_flags = %q, runccmd has %q", got, bools)
	}
	// exec and pause: passed straight on unless an argument names an
	// enabled container (then Go serializes them).
	freeze := cList(t, src, "freeze_cmds")
	for _, cmd := range cList(t, src, "passthrough_cmds") {
		if slices.Contains(wrapper.Intercepted(), cmd) && !slices.Contains(freeze, cmd) {
			t.Errorf("fastpath.c passes %q straight to runc, but ARCH intercepts it (%s)", cmd, strings.Join(wrapper.Intercepted(), ", "))
		}
	}
}
