package install

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testdata/containerd/v2-default-1.6.toml is the output of `containerd
// config default` of containerd 1.6.20 (Debian 12).

type containerdCase struct {
	name    string
	file    string // under testdata/containerd; "" = no file
	runtime string
	version int
	old     string // previous BinaryName ("" with hadOld false: none)
	hadOld  bool
	added   int // lines added (0: one line replaced)
	literal bool
	// noType: the file has the options table but sets no runtime_type
	// for the runtime (a warning, and containerd reads it as empty).
	noType bool
	// warnings expected (noType is one)
	warnings int
}

var containerdCases = []containerdCase{
	{name: "1.6 default", file: "v2-default-1.6.toml", version: 2, old: "", hadOld: true},
	{name: "2.x default", file: "v3-containerd2.toml", version: 3, old: "", hadOld: true, literal: true},
	{name: "2.x, inline tables, CRLF", file: "v3-inline-crlf.toml", version: 3, old: "/usr/local/sbin/runc", hadOld: true, literal: true},
	{name: "other binary", file: "v2-other-binary.toml", version: 2, old: "/usr/bin/runc", hadOld: true},
	{name: "comments and spacing", file: "v2-comments.toml", version: 2, old: "/opt/runc/bin/runc", hadOld: true, literal: true},
	{name: "options without BinaryName, CRLF", file: "v2-crlf-no-binary.toml", version: 2, added: 1, noType: true, warnings: 1},
	{name: "no CRI section", file: "v2-no-cri.toml", version: 2, added: 6},
	{name: "runtime without options, no final newline", file: "v2-runtime-no-options.toml", version: 2, added: 3},
	{name: "comments only", file: "comments-only.toml", version: 2, added: 9},
	{name: "new runtime for a RuntimeClass", file: "v2-other-binary.toml", runtime: "arch", version: 2, added: 6, warnings: 1},
	{name: "new runtime, runc without options", file: "v2-no-cri.toml", runtime: "arch", version: 2, added: 6},
	{name: "missing file", version: 2},
}

// fakeBinary is an executable stand-in for arch-wrapper.
func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin", "arch-wrapper")
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var clock = func() time.Time { return time.Date(2025, 3, 14, 10, 15, 2, 0, time.UTC) }

func TestContainerd(t *testing.T) {
	binary := fakeBinary(t)
	for _, tc := range containerdCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.toml")
			var orig []byte
			if tc.file != "" {
				var err error
				orig, err = os.ReadFile(filepath.Join("testdata/containerd", tc.file))
				must(t, err)
				must(t, os.WriteFile(path, orig, 0o640))
				must(t, os.Chmod(path, 0o640))
			}
			opts := ContainerdOptions{Config: path, Binary: binary, Runtime: tc.runtime, Now: clock}
			r, err := Containerd(opts)
			must(t, err)
			if !r.Changed || r.Version != tc.version || r.Old != tc.old || r.HadOld != tc.hadOld || r.Created != (tc.file == "") {
				t.Fatalf("result %+v", r)
			}
			got, err := os.ReadFile(path)
			must(t, err)
			runtime := tc.runtime
			if runtime == "" {
				runtime = "runc"
			}
			checkBinaryName(t, got, r.Version, runtime, binary, tc.literal)
			st, err := os.Stat(path)
			must(t, err)
			if tc.file == "" {
				if r.Backup != "" || st.Mode().Perm() != 0o644 {
					t.Errorf("new file: backup %q, mode %v", r.Backup, st.Mode().Perm())
				}
			} else {
				if st.Mode().Perm() != 0o640 {
					t.Errorf("mode %v, want 0640", st.Mode().Perm())
				}
				checkBackup(t, r.Backup, path, orig, 0o640)
				checkOtherLines(t, orig, got, tc.added)
			}
			before := names(t, dir)
			r2, err := Containerd(opts)
			must(t, err)
			again, _ := os.ReadFile(path)
			if r2.Changed || r2.Backup != "" || !bytes.Equal(again, got) || !slices.Equal(names(t, dir), before) {
				t.Errorf("second run changed something: %+v", r2)
			}
			if r2.Old != binary || !r2.HadOld {
				t.Errorf("second run: old %q", r2.Old)
			}
			if len(r.Warnings) != tc.warnings {
				t.Errorf("warnings %q", r.Warnings)
			}
			if r.Version == 2 {
				dumpAccepts(t, path, runtime, binary, !tc.noType)
			}
		})
	}
}

func TestContainerdDryRunChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	orig, _ := os.ReadFile("testdata/containerd/v2-other-binary.toml")
	must(t, os.WriteFile(path, orig, 0o600))
	r, err := Containerd(ContainerdOptions{Config: path, Binary: "/nonexistent/arch-wrapper", DryRun: true})
	must(t, err)
	got, _ := os.ReadFile(path)
	if !r.Changed || r.Backup != "" || !bytes.Equal(got, orig) || len(names(t, filepath.Dir(path))) != 1 {
		t.Fatalf("dry run: %+v", r)
	}
	if len(r.Changes) != 1 || !strings.Contains(r.Changes[0], `"/nonexistent/arch-wrapper"`) || len(r.Warnings) != 1 {
		t.Errorf("changes %q warnings %q", r.Changes, r.Warnings)
	}
	if _, err := Containerd(ContainerdOptions{Config: path, Binary: "/nonexistent/arch-wrapper"}); err == nil {
		t.Error("a missing binary is accepted outside a dry run")
	}
}

func TestContainerdRefuses(t *testing.T) {
	binary := fakeBinary(t)
	refuses(t, "testdata/containerd", "config.toml", map[string]string{
		"v1-legacy.toml":         "version 1",
		"v2-inline-options.toml": "outside its own table",
		"v2-dotted-options.toml": "outside its own table",
		"v2-dotted-runtime.toml": "dotted key",
		// accepted by the line scanner, rejected by a real TOML parser
		"v2-bare-value.toml":    "line 2, column 8: toml: ",
		"v2-duplicate-key.toml": "not valid TOML",
	}, func(path string) error {
		_, err := Containerd(ContainerdOptions{Config: path, Binary: binary})
		return err
	})
}

// refuses installs (with install) into a copy, named name, of each file of
// testdata in cases, and requires an error that says its case's words and
// a file left exactly as it was, with nothing beside it.
func refuses(t *testing.T, testdata, name string, cases map[string]string, install func(path string) error) {
	t.Helper()
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			orig, err := os.ReadFile(filepath.Join(testdata, file))
			must(t, err)
			if len(orig) == 0 {
				t.Fatalf("testdata %s is empty", file)
			}
			must(t, os.WriteFile(path, orig, 0o644))
			if err := install(path); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want %q", err, want)
			}
			got, err := os.ReadFile(path)
			must(t, err)
			if !bytes.Equal(got, orig) || len(names(t, filepath.Dir(path))) != 1 {
				t.Error("file touched")
			}
		})
	}
}

// A runtime name or a binary path TOML cannot hold (not UTF-8; a control
// character in the name, which a new file's comment holds) is refused
// before any file is read.
func TestContainerdRefusesUnwritableText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	for _, o := range []ContainerdOptions{
		{Runtime: "runc\nversion = 3", Binary: "/usr/local/bin/arch-wrapper"},
		{Runtime: "run\xffc", Binary: "/usr/local/bin/arch-wrapper"},
		{Binary: "/usr/local/bin/arch-\xbawrapper"},
	} {
		o.Config, o.DryRun = path, true
		if _, err := Containerd(o); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%q %q: err = %v", o.Runtime, o.Binary, err)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("file written")
	}
}

func TestContainerdFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.toml")
	orig, _ := os.ReadFile("testdata/containerd/v2-other-binary.toml")
	must(t, os.WriteFile(real, orig, 0o644))
	link := filepath.Join(dir, "config.toml")
	must(t, os.Symlink("real.toml", link))
	r, err := Containerd(ContainerdOptions{Config: link, Binary: fakeBinary(t), Now: clock})
	must(t, err)
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 || r.Path != real {
		t.Fatalf("link replaced, or edited %s", r.Path)
	}
	if !strings.HasPrefix(r.Backup, real+BackupSuffix) {
		t.Errorf("backup %s", r.Backup)
	}
}

func TestBackupNeverOverwritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	orig, _ := os.ReadFile("testdata/containerd/v2-other-binary.toml")
	must(t, os.WriteFile(path, orig, 0o644))
	first, err := Containerd(ContainerdOptions{Config: path, Binary: fakeBinary(t), Now: clock})
	must(t, err)
	second, err := Containerd(ContainerdOptions{Config: path, Binary: fakeBinary(t), Now: clock})
	must(t, err)
	if first.Backup == second.Backup || !strings.HasSuffix(second.Backup, "-2") {
		t.Fatalf("backups %s, %s", first.Backup, second.Backup)
	}
	b1, _ := os.ReadFile(first.Backup)
	if !bytes.Equal(b1, orig) {
		t.Error("first backup overwritten")
	}
}

// checkBinaryName finds BinaryName in the runtime's options table of data.
func checkBinaryName(t *testing.T, data []byte, version int, runtime, binary string, literal bool) {
	t.Helper()
	lines, err := scanTOML(data)
	must(t, err)
	rt, _, err := runtimePath(version, runtime)
	must(t, err)
	opt := append(rt, "options")
	found := 0
	for _, l := range lines {
		if l.kind == lineKeyValue && slices.Equal(l.table, opt) && slices.Equal(l.key, []string{"BinaryName"}) {
			found++
			v, lit, ok := parseStringValue(l.text[l.valStart:l.valEnd])
			if !ok || v != binary || lit != literal {
				t.Errorf("line %d: %s", l.num, l.text)
			}
		}
	}
	if found != 1 {
		t.Errorf("BinaryName set %d times in %v", found, opt)
	}
}

// checkOtherLines asserts that got is orig with one line replaced
// (added == 0) or added lines inserted: every other line is
// byte-identical, terminator included (but for a last line that had none).
func checkOtherLines(t *testing.T, orig, got []byte, added int) {
	t.Helper()
	a, b := splitLines(orig), splitLines(got)
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	midA, midB := a[p:len(a)-s], b[p:len(b)-s]
	switch {
	case added == 0 && (len(midA) != 1 || len(midB) != 1):
		t.Errorf("changed lines %q -> %q, want one replaced", midA, midB)
	case added > 0 && len(midB)-len(midA) != added:
		t.Errorf("changed lines %q -> %q, want %d added", midA, midB, added)
	case added > 0 && len(midA) == 1 && strings.TrimRight(midA[0], "\r\n") != strings.TrimRight(midB[0], "\r\n"):
		t.Errorf("line %q changed to %q", midA[0], midB[0])
	case added > 0 && len(midA) > 1:
		t.Errorf("lines %q changed", midA)
	}
	for _, l := range midB {
		if strings.Contains(l, "\n") && strings.HasSuffix(string(orig), "\r\n") && !strings.HasSuffix(l, "\r\n") {
			t.Errorf("line %q: terminator differs from the file's", l)
		}
	}
}

// splitLines splits after each "\n", keeping terminators.
func splitLines(data []byte) []string {
	l := strings.SplitAfter(string(data), "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

func checkBackup(t *testing.T, backup, path string, orig []byte, mode os.FileMode) {
	t.Helper()
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(path+BackupSuffix) + `20250314T101502Z$`).MatchString(backup) {
		t.Fatalf("backup %q", backup)
	}
	data, err := os.ReadFile(backup)
	must(t, err)
	st, err := os.Stat(backup)
	must(t, err)
	if !bytes.Equal(data, orig) || st.Mode().Perm() != mode {
		t.Errorf("backup differs from the original (mode %v)", st.Mode().Perm())
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// dumpAccepts runs `containerd --config path config dump` and checks that
// containerd reads the edited runtime: its runtime_type and BinaryName.
// Without containerd the check is skipped, except in CI.
func dumpAccepts(t *testing.T, path, runtime, binary string, typed bool) {
	t.Helper()
	ctrd, err := exec.LookPath("containerd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("containerd not installed (CI=true): %v", err)
		}
		t.Log("containerd not installed: config dump check skipped")
		return
	}
	out, err := exec.Command(ctrd, "--config", path, "config", "dump").CombinedOutput()
	if err != nil {
		t.Fatalf("containerd config dump: %v\n%s", err, out)
	}
	section := `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.` + runtime + `]`
	i := bytes.Index(out, []byte(section))
	if i < 0 {
		t.Fatalf("config dump has no %s", section)
	}
	rest := string(out[i:])
	if typed && !strings.Contains(rest, `runtime_type = "io.containerd.runc.v2"`) {
		t.Errorf("config dump: runtime %s has no runtime_type", runtime)
	}
	opts := strings.Index(rest, section[:len(section)-1]+`.options]`)
	if opts < 0 || !strings.HasPrefix(strings.TrimSpace(rest[opts+len(section)+len(".options"):]), `BinaryName = "`+binary+`"`) {
		t.Errorf("config dump does not show BinaryName = %q for %s:\n%s", binary, runtime, rest[:min(len(rest), 1500)])
	}
}
