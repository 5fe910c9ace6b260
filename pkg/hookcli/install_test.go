package hookcli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/pkg/config"
)

func installTestBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "arch-wrapper")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstallContainerdTwice(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	os.WriteFile(conf, []byte("version = 2\n\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  BinaryName = \"/usr/bin/runc\"\n"), 0o600)
	bin := installTestBinary(t)

	code, out, errOut := archHook(t, "install", "--containerd", "--containerd-config", conf, "--binary", bin, "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: nothing written") || strings.Contains(out, "restart") {
		t.Fatalf("dry run: %d %s %s", code, out, errOut)
	}
	code, out, errOut = archHook(t, "install", "--containerd", "--containerd-config", conf, "--binary", bin)
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	for _, want := range []string{`BinaryName: "/usr/bin/runc" -> "` + bin + `"`, "backup of the original: " + conf + ".arch-backup-", "restart containerd", "ARCH restarts nothing", "ctr run"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if data, _ := os.ReadFile(conf); !strings.Contains(string(data), `BinaryName = "`+bin+`"`) {
		t.Errorf("not set:\n%s", data)
	}
	code, out, _ = archHook(t, "install", "--containerd", "--containerd-config", conf, "--binary", bin)
	if code != 0 || !strings.Contains(out, "nothing changed") || strings.Contains(out, "backup") {
		t.Errorf("second run: %d\n%s", code, out)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d files, want the config and one backup", len(ents))
	}
}

func TestInstallDocker(t *testing.T) {
	dir := t.TempDir()
	dj := filepath.Join(dir, "daemon.json")
	bin := installTestBinary(t)
	code, out, errOut := archHook(t, "install", "--docker", "--daemon-json", dj, "--binary", bin)
	if code != 0 || !strings.Contains(out, "default-runtime is unset") || !strings.Contains(out, "restart dockerd") {
		t.Fatalf("%d %s %s", code, out, errOut)
	}
	code, out, _ = archHook(t, "install", "--docker", "--daemon-json", dj, "--binary", bin, "--default")
	if code != 0 || !strings.Contains(out, `default-runtime: "" -> "arch"`) {
		t.Fatalf("--default: %d %s", code, out)
	}
	var doc struct {
		Runtimes       map[string]map[string]any `json:"runtimes"`
		DefaultRuntime string                    `json:"default-runtime"`
	}
	data, _ := os.ReadFile(dj)
	if err := json.Unmarshal(data, &doc); err != nil || doc.Runtimes["arch"]["path"] != bin || doc.DefaultRuntime != "arch" {
		t.Errorf("daemon.json: %v\n%s", err, data)
	}
	code, out, _ = archHook(t, "install", "--docker", "--daemon-json", dj, "--binary", bin, "--default")
	if code != 0 || !strings.Contains(out, "nothing changed") || strings.Contains(out, "default-runtime is") {
		t.Errorf("second run: %d %s", code, out)
	}
}

func TestInstallUsageAndErrors(t *testing.T) {
	if code, _, errOut := archHook(t, "install"); code != 2 || !strings.Contains(errOut, "--containerd, --docker") {
		t.Errorf("no engine: %d %s", code, errOut)
	}
	conf := filepath.Join(t.TempDir(), "config.toml")
	if code, _, errOut := archHook(t, "install", "--containerd", "--containerd-config", conf, "--binary", "/nonexistent/arch-wrapper"); code != 1 || !strings.Contains(errOut, "install arch-wrapper first") {
		t.Errorf("missing binary: %d %s", code, errOut)
	}
	if _, err := os.Stat(conf); err == nil {
		t.Error("config written for a missing binary")
	}
	if code, _, errOut := archHook(t, "install", "--containerd", "--containerd-config", conf, "--binary", "relative/arch-wrapper"); code != 1 || !strings.Contains(errOut, "absolute") {
		t.Errorf("relative binary: %d %s", code, errOut)
	}
}

// hack/arch.conf documents every key with its default: uncommented, it
// reads without errors and gives exactly the defaults.
func TestSampleConfigurationIsTheDefaults(t *testing.T) {
	data, err := os.ReadFile("../../hack/arch.conf")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	keys := 0
	for _, l := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(strings.TrimPrefix(l, "#"), " ="); ok && strings.HasPrefix(l, "#") && !strings.Contains(k, " ") {
			l = strings.TrimPrefix(l, "#")
			keys++
		}
		lines = append(lines, l)
	}
	p := filepath.Join(t.TempDir(), "arch.conf")
	os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
	cfg, err := config.Load(func(k string) string {
		if k == config.EnvConfig {
			return p
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Defaults()
	want.Path = p
	if !reflect.DeepEqual(cfg, want) || keys != 16 {
		t.Errorf("sample (%d keys) gives %+v, defaults are %+v", keys, cfg, want)
	}
}
