//go:build cgo

package fastpath

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/state"
	"github.com/arch-ckpt/arch/pkg/wrapper"
)

// The C fast path reads two keys of ARCH's configuration: state_dir (where
// the enabled markers are) and runc. For any file, each must either be
// what config.Load reads, or the C side must be in doubt (and leave the
// call to Go). config.Load keeps the last valid line of a key and reports
// the others; the C side takes the last line and doubts when it is not an
// absolute path, so where both read a value it is the same one.
//
// A fuzz input is the file's text; "@T" in it stands for a fresh folder
// holding an executable runc, so that the fuzzer can write configurations
// whose state_dir and runc exist.

// configBufLen is the buffer the fast path reads runc's path into.
const configBufLen = runcBufLen

// checkConfig writes text (with "@T" replaced by a fresh folder) as ARCH's
// configuration and checks that the C and Go readers agree on it.
func checkConfig(t *testing.T, text string) {
	t.Helper()
	dir := t.TempDir()
	text = strings.ReplaceAll(text, "@T", dir)
	conf := filepath.Join(dir, "arch.conf")
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "runc")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"ARCH_CONFIG=" + conf, "PATH=/nonexistent"}
	cfg, goErr := config.Load(func(k string) string {
		return map[string]string{"ARCH_CONFIG": conf, "PATH": "/nonexistent"}[k]
	})
	// What the C side could not read as Go does.
	unreadable := bytes.IndexByte([]byte(text), 0) >= 0 || len(text) >= 65535

	sd, sdOK := stateDir(env)
	if sdOK && sd != cfg.StateDir {
		t.Errorf("state_dir: C reads %q, Go %q (Go error: %v)", sd, cfg.StateDir, goErr)
	}
	if !sdOK && goErr == nil && !unreadable && len(cfg.StateDir) < stateBufLen && !dotDot(cfg.StateDir) {
		t.Errorf("state_dir: C in doubt about a configuration Go reads without error (Go: %q)", cfg.StateDir)
	}

	runc, c := configValue(env, "runc", configBufLen)
	switch {
	case c == 1 && runc != cfg.Runc:
		t.Errorf("runc: C reads %q, Go %q (Go error: %v)", runc, cfg.Runc, goErr)
	case c == 0 && cfg.Runc != "":
		t.Errorf("runc: C reads no runc line, Go %q (Go error: %v)", cfg.Runc, goErr)
	case c < 0 && goErr == nil && !unreadable && len(cfg.Runc) < configBufLen && cfg.Runc != "":
		t.Errorf("runc: C in doubt about a configuration Go reads without error (Go: %q)", cfg.Runc)
	}

	// The whole decision, where the configuration points into dir: a
	// pause of an enabled container never takes the fast path, and a state
	// that does runs the runc Go would.
	stateInDir := strings.HasPrefix(filepath.Clean(cfg.StateDir), dir+"/")
	if stateInDir {
		records := state.NodeRecords(cfg.StateDir)
		p, _ := records.Path("/run/runc", "c1")
		if os.MkdirAll(filepath.Dir(p), 0o700) == nil && os.WriteFile(p, []byte("{}"), 0o600) == nil && records.MarkEnabled("c1") == nil {
			pause := []string{"runc", "pause", "c1"}
			if _, goPass := wrapper.PassesThrough(pause, append(env, "ARCH_RUNC="+fake)); goPass {
				t.Fatalf("Go passes a pause of enabled c1 through with state_dir %q", cfg.StateDir)
			}
			if runc, ok := decide(pause, append(env, "ARCH_RUNC="+fake)); ok {
				t.Errorf("the fast path execs %s for a pause of enabled c1 (Go's state_dir %q, C's %q)", runc, cfg.StateDir, sd)
			}
		}
	}
	state := []string{"runc", "state", "c1"}
	if cRunc, ok := decide(state, env); ok {
		if goRunc, goPass := wrapper.PassesThrough(state, env); !goPass || goRunc != cRunc {
			t.Errorf("the fast path execs %s for state, Go %q, %v", cRunc, goRunc, goPass)
		}
	}
}

// dotDot reports whether p has a ".." component: Go resolves it in the
// path's text (filepath.Join), the kernel through symbolic links, so the C
// side cannot name the same marker.
func dotDot(p string) bool {
	return slices.Contains(strings.Split(p, "/"), "..")
}

// FuzzConfigReadersAgree checks the C configuration reader against
// config.Load for arbitrary text: relative and invalid values, spaces
// (Unicode ones too), quotes, comments, CRLF, duplicate keys, long lines.
func FuzzConfigReadersAgree(f *testing.F) {
	// Files about the size of the C side's buffer (64 KiB, as bufio's
	// longest line), too big for a seed file.
	const line = "state_dir = /big/s\n"
	for _, n := range []int{65533, 65534, 65535, 65536, 70000} {
		f.Add(line + "#" + strings.Repeat("x", n-len(line)-2) + "\n")
		f.Add("#" + strings.Repeat("x", n) + "\n" + line)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkConfig(t, text)
	})
}

// Go trims every Unicode space (strings.TrimSpace) around keys, values
// and comments; the C side must read the same, or doubt. Each space goes
// in every place it could be trimmed from, and some non-spaces beside it.
func TestConfigReadersAgreeOnEverySpace(t *testing.T) {
	var runes []rune
	for r := rune(0); r <= 0x3000; r++ {
		if unicode.IsSpace(r) {
			runes = append(runes, r)
		}
	}
	// Not spaces to Go: zero width space, byte order mark, Mongolian vowel
	// separator (a space in old Unicode versions), NEL's neighbour.
	runes = append(runes, 0x200b, 0xfeff, 0x180e, 0x86, 0x1fff, 0x200b)
	for _, r := range runes {
		s := string(r)
		for i, text := range []string{
			s + "state_dir = @T/s" + s,
			"state_dir" + s + "= @T/s\nrunc" + s + "=" + s + "@T/runc" + s,
			"state_dir =" + s + "@T/s" + s + "# comment",
			"state_dir = @T/s" + s + "\n" + s + "state_dir = @T/t",
			"runc = @T/runc\n" + s + "runc = /nonexistent/runc" + s + "\r\n",
			"state_dir = \"@T/s" + s + "\"" + s,
		} {
			t.Run(fmt.Sprintf("U+%04X/%d", r, i), func(t *testing.T) { checkConfig(t, text) })
		}
	}
}
