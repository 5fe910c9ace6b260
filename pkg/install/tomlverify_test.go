package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testBinary = "/usr/local/bin/arch-wrapper"

func readTestdata(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/containerd", file))
	must(t, err)
	return data
}

// editedTestdata is the editor's (checked) output for a test file.
func editedTestdata(t *testing.T, file, runtime string) (before, after []byte) {
	t.Helper()
	before = readTestdata(t, file)
	e, err := setBinaryName(before, runtime, testBinary)
	must(t, err)
	if !e.changed {
		t.Fatalf("%s: nothing to edit", file)
	}
	must(t, verifyEdit(before, e.out, runtime, testBinary))
	return before, e.out
}

// replaceOnce replaces the first old in s, which must be there.
func replaceOnce(t *testing.T, s []byte, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(s), old) {
		t.Fatalf("%q not found", old)
	}
	return []byte(strings.Replace(string(s), old, new, 1))
}

const (
	runcOptsV2 = `plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options`
	runcOptsV3 = `plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options`
)

// Every change of meaning but the intended one is refused, and named.
func TestVerifyEditRefuses(t *testing.T) {
	otherBefore, otherAfter := editedTestdata(t, "v2-other-binary.toml", "runc")
	commentsBefore, commentsAfter := editedTestdata(t, "v2-comments.toml", "runc")
	crlfBefore, crlfAfter := editedTestdata(t, "v2-crlf-no-binary.toml", "runc")
	v3Before, v3After := editedTestdata(t, "v3-inline-crlf.toml", "runc")
	noCRIBefore, noCRIAfter := editedTestdata(t, "v2-no-cri.toml", "runc")
	minimal := minimalConfig("runc", testBinary)
	for _, tc := range []struct {
		name          string
		before, after []byte
		runtime       string
		want          []string // in the error
	}{
		{
			name:   "another key of the options changed",
			before: otherBefore, after: replaceOnce(t, otherAfter, "SystemdCgroup = true", "SystemdCgroup = false"),
			want: []string{runcOptsV2 + ".SystemdCgroup is false (bool), want true (bool)"},
		},
		{
			name:   "the wrong runtime edited",
			before: otherBefore, after: replaceOnce(t, otherBefore, `"/usr/bin/nvidia-container-runtime"`, `"`+testBinary+`"`),
			want: []string{
				`runtimes.nvidia.options.BinaryName is "/usr/local/bin/arch-wrapper", want "/usr/bin/nvidia-container-runtime"`,
				runcOptsV2 + `.BinaryName is "/usr/bin/runc", want "/usr/local/bin/arch-wrapper"`,
			},
		},
		{
			name:   "a key lost",
			before: otherBefore, after: replaceOnce(t, otherAfter, "  sandbox_image = \"registry.k8s.io/pause:3.9\"\n", ""),
			want: []string{`plugins."io.containerd.grpc.v1.cri".sandbox_image is absent, want "registry.k8s.io/pause:3.9"`},
		},
		{
			name:   "a table added",
			before: otherBefore, after: append(slices.Clone(otherAfter), "\n[proxy_plugins]\n"...),
			want: []string{`proxy_plugins is a table, want absent`},
		},
		{
			name:   "BinaryName not the binary",
			before: otherBefore, after: replaceOnce(t, otherAfter, testBinary, testBinary+"x"),
			want: []string{runcOptsV2 + `.BinaryName is "/usr/local/bin/arch-wrapperx", want "/usr/local/bin/arch-wrapper"`},
		},
		{
			name:   "BinaryName set in a sub-table",
			before: commentsBefore, after: replaceOnce(t, commentsBefore, `"a sub-table's key, not the one ARCH sets"`, `"`+testBinary+`"`),
			want: []string{runcOptsV2 + `.BinaryName is "/opt/runc/bin/runc"`, runcOptsV2 + `.extra.BinaryName is "/usr/local/bin/arch-wrapper"`},
		},
		{
			name:   "a multi-line string's content changed",
			before: commentsBefore, after: replaceOnce(t, commentsAfter, `BinaryName = "not/this/one"`, `BinaryName = "`+testBinary+`"`),
			want: []string{"motd is "},
		},
		{
			name:   "an element of an array of tables changed",
			before: commentsBefore, after: replaceOnce(t, commentsAfter, `"https://mirror.example"`, `"https://other.example"`),
			want: []string{`registry.mirrors_list[0].endpoint[0] is "https://other.example"`},
		},
		{
			name:   "a value's type changed",
			before: commentsBefore, after: replaceOnce(t, commentsAfter, "oom_score = -999", "oom_score = -999.0"),
			want: []string{"oom_score is -999 (float64), want -999 (int64)"},
		},
		{
			name:   "runtime_type added to a runtime that exists through its options table",
			before: crlfBefore, after: append(slices.Clone(crlfAfter), "\r\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\r\n  runtime_type = \"io.containerd.runc.v2\"\r\n"...),
			want: []string{`runtimes.runc.runtime_type is "io.containerd.runc.v2", want absent`},
		},
		{
			name:   "appended runtime without runtime_type",
			before: noCRIBefore, after: replaceOnce(t, noCRIAfter, `runtime_type = "io.containerd.runc.v2"`, `runtime_type = ""`),
			want: []string{`runtimes.runc.runtime_type is "", want "io.containerd.runc.v2"`},
		},
		{
			name:   "inline table changed (v3, CRLF)",
			before: v3Before, after: replaceOnce(t, v3After, "X-Meta = ['a', 'b']", "X-Meta = ['a']"),
			want: []string{`registry.headers.X-Meta is an array of 1, want an array of 2`},
		},
		{
			name:   "version 3 edited at the version 2 path",
			before: v3Before, after: append(slices.Clone(v3Before), "\r\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\r\n  BinaryName = \"/usr/local/bin/arch-wrapper\"\r\n"...),
			want: []string{runcOptsV3 + `.BinaryName is "/usr/local/sbin/runc"`, `plugins."io.containerd.grpc.v1.cri" is a table, want absent`},
		},
		{
			name:   "edited file not TOML",
			before: otherBefore, after: append(slices.Clone(otherAfter), "  BinaryName = \"/usr/bin/runc\"\n"...),
			want: []string{"the edited file would not be valid TOML", "already"},
		},
		{
			name:   "original not TOML",
			before: readTestdata(t, "v2-duplicate-key.toml"), after: otherAfter,
			want: []string{"not valid TOML (line 7, column 3", "ARCH does not edit a broken file"},
		},
		{
			name:   "new file with an extra key",
			before: nil, after: append(slices.Clone(minimal), "oom_score = 0\n"...),
			want: []string{"oom_score is 0 (int64), want absent"},
		},
		{
			name:   "new file of version 3",
			before: nil, after: replaceOnce(t, minimal, "version = 2", "version = 3"),
			want: []string{"version is 3 (int64), want 2 (int64)"},
		},
		{
			name:   "new file for another runtime",
			before: []byte("# only a comment\n"), after: minimal, runtime: "arch",
			want: []string{`runtimes.arch is absent, want a table`, `runtimes.runc is a table, want absent`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime := tc.runtime
			if runtime == "" {
				runtime = "runc"
			}
			err := verifyEdit(tc.before, tc.after, runtime, testBinary)
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// The minimal configuration is accepted for a missing or comments-only
// file, for any runtime name and binary path.
func TestVerifyEditMinimal(t *testing.T) {
	for _, before := range [][]byte{nil, {}, []byte("# nothing yet\r\n\r\n")} {
		for _, rt := range []string{"runc", "arch", "my runtime's"} {
			for _, bin := range []string{testBinary, `/opt/a "b"\c`, "/opt/it's/\x7f"} {
				if err := verifyEdit(before, minimalConfig(rt, bin), rt, bin); err != nil {
					t.Errorf("%q %q: %v", rt, bin, err)
				}
			}
		}
	}
}

// A list of differences is cut after maxReported.
func TestVerifyEditSummarizes(t *testing.T) {
	before := []byte("version = 2\na = 1\nb = 1\nc = 1\nd = 1\ne = 1\nf = 1\ng = 1\n")
	after := []byte("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\nBinaryName = \"" + testBinary + "\"\n")
	err := verifyEdit(before, after, "runc", testBinary)
	if err == nil || !strings.Contains(err.Error(), "a is absent, want 1 (int64); b is") || !strings.Contains(err.Error(), "; and 3 more;") {
		t.Errorf("err = %v", err)
	}
}

// A runtime table that exists only through a sub-table's header (no
// header of its own) exists: ARCH adds no runtime_type to it, but warns.
func TestRuntimeDefinedBySubTable(t *testing.T) {
	before := []byte("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.extra]\n  x = 1\n")
	e, err := setBinaryName(before, "runc", testBinary)
	must(t, err)
	if strings.Contains(string(e.out), "runtime_type") || len(e.warnings) != 1 || !strings.Contains(e.warnings[0], "no runtime_type") {
		t.Errorf("out:\n%s\nwarnings %q", e.out, e.warnings)
	}
	must(t, verifyEdit(before, e.out, "runc", testBinary))
}

// faultyEditor makes the line editor corrupt its output with corrupt while
// the test runs.
func faultyEditor(t *testing.T, corrupt func([]byte) []byte) {
	t.Helper()
	orig := editConfig
	t.Cleanup(func() { editConfig = orig })
	editConfig = func(data []byte, runtime, binary string) (*tomlEdit, error) {
		e, err := orig(data, runtime, binary)
		if err == nil && e.changed {
			e.out = corrupt(e.out)
		}
		return e, err
	}
}

// A bug of the line editor that changes another key is caught before
// anything is written: no change, no backup, no temp file, in a dry run
// too.
func TestContainerdRefusesFaultyEditor(t *testing.T) {
	binary := fakeBinary(t)
	faultyEditor(t, func(out []byte) []byte {
		return []byte(strings.Replace(string(out), "SystemdCgroup = true", "SystemdCgroup = false", 1))
	})
	for _, dry := range []bool{false, true} {
		t.Run(map[bool]string{false: "write", true: "dry run"}[dry], func(t *testing.T) {
			refuses(t, "testdata/containerd", "config.toml", map[string]string{
				"v2-other-binary.toml":   runcOptsV2 + ".SystemdCgroup is false (bool), want true (bool)",
				"v2-crlf-no-binary.toml": "edit changes more than BinaryName",
				"v3-inline-crlf.toml":    runcOptsV3 + ".SystemdCgroup is false",
			}, func(path string) error {
				_, err := Containerd(ContainerdOptions{Config: path, Binary: binary, DryRun: dry})
				return err
			})
		})
	}
}

// A broken file is refused even when BinaryName is already right: ARCH
// does not call a file containerd cannot read installed.
func TestContainerdRefusesBrokenFileAlreadySet(t *testing.T) {
	binary := fakeBinary(t)
	path := filepath.Join(t.TempDir(), "config.toml")
	orig := "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  BinaryName = " + quoteString(binary, false) + "\n  SystemdCgroup = true\n  SystemdCgroup = true\n"
	must(t, os.WriteFile(path, []byte(orig), 0o644))
	if _, err := Containerd(ContainerdOptions{Config: path, Binary: binary}); err == nil || !strings.Contains(err.Error(), "not valid TOML") {
		t.Fatalf("err = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != orig || len(names(t, filepath.Dir(path))) != 1 {
		t.Error("file touched")
	}
}
