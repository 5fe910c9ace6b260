package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadMissingDefaultFileGivesDefaults(t *testing.T) {
	cfg, err := Load(env(map[string]string{EnvConfig: ""}))
	if err != nil && !errors.Is(err, ErrUnreadable) {
		t.Fatal(err)
	}
	if cfg.StateDir == "" || cfg.CheckpointTimeout == 0 {
		t.Fatalf("defaults missing: %+v", cfg)
	}
}

func TestLoadParsesFileAndEnvOverride(t *testing.T) {
	p := filepath.Join(t.TempDir(), "arch.conf")
	os.WriteFile(p, []byte(`
# a comment
runc = /usr/sbin/runc
log_level = debug   # trailing comment
store = "/mnt/efs/ckpt"
checkpoint_timeout = 90s
compression = none
`), 0o644)
	cfg, err := Load(env(map[string]string{EnvConfig: p, EnvRunc: "/opt/runc"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Path, want.Runc, want.LogLevel, want.Store = p, "/opt/runc", "debug", "/mnt/efs/ckpt"
	want.CheckpointTimeout, want.Compression = 90*time.Second, "none"
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadReportsBadLinesButKeepsGoodOnes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "arch.conf")
	os.WriteFile(p, []byte("store = relative/path\nno equals sign\ncolour = blue\nlog_level = warn\ncheckpoint_timeout = -1s\n"), 0o644)
	cfg, err := Load(env(map[string]string{EnvConfig: p}))
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("err = %v", err)
	}
	for _, frag := range []string{"line 1", "line 2", "line 3", "line 5"} {
		if !contains(err.Error(), frag) {
			t.Errorf("error %q does not mention %s", err, frag)
		}
	}
	if cfg.LogLevel != "warn" || cfg.Store != Defaults().Store {
		t.Fatalf("got %+v", cfg)
	}
}

func TestLoadExplicitMissingFileIsAnError(t *testing.T) {
	_, err := Load(env(map[string]string{EnvConfig: "/nonexistent/arch.conf"}))
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("err = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestAllowedRoots(t *testing.T) {
	for _, tc := range []struct {
		line  string
		want  []string
		error string
	}{
		{"allowed_roots = /mnt/efs, /var/lib/arch", []string{"/mnt/efs", "/var/lib/arch"}, ""},
		{"allowed_roots = /mnt/efs/,/mnt/efs ,, /mnt//x/./y", []string{"/mnt/efs", "/mnt/x/y"}, ""},
		{"allowed_roots =", nil, ""},
		{"allowed_roots = /mnt/efs, relative", nil, "not an absolute path"},
		{"allowed_roots = /mnt/efs/../etc", nil, `".."`},
		{"allowed_roots = /", nil, "any host path"},
		{"allowed_roots = //", nil, "any host path"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "arch.conf")
			os.WriteFile(p, []byte(tc.line+"\n"), 0o644)
			cfg, err := Load(env(map[string]string{EnvConfig: p}))
			if tc.error != "" {
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("err = %v, want %q", err, tc.error)
				}
				if cfg.AllowedRoots != nil {
					t.Fatalf("a bad line allowed %v", cfg.AllowedRoots)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.AllowedRoots, tc.want) {
				t.Fatalf("roots = %q, want %q", cfg.AllowedRoots, tc.want)
			}
			if a := cfg.Allowed(); a.Store != cfg.Store || !reflect.DeepEqual(a.Roots, tc.want) {
				t.Fatalf("Allowed() = %+v", a)
			}
		})
	}
}
