package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func specWithEnv(env ...string) *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Env: env}}
}

func TestEnabled(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		want bool
	}{
		{"one", []string{"ARCH_ENABLE=1"}, true},
		{"true any case", []string{"ARCH_ENABLE=True"}, true},
		{"yes", []string{"ARCH_ENABLE=yes"}, true},
		{"zero", []string{"ARCH_ENABLE=0"}, false},
		{"empty", []string{"ARCH_ENABLE="}, false},
		{"absent", []string{"PATH=/bin"}, false},
		{"last assignment wins", []string{"ARCH_ENABLE=1", "ARCH_ENABLE=0"}, false},
		{"prefix is not the variable", []string{"ARCH_ENABLED=1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := Enabled(specWithEnv(c.env...))
			if got != c.want || why == "" {
				t.Fatalf("Enabled = %v (%q), want %v", got, why, c.want)
			}
		})
	}
	if got, _ := Enabled(&specs.Spec{}); got {
		t.Fatal("a spec without process must not be enabled")
	}
}

func TestEnabledReasonNeverQuotesOtherVariables(t *testing.T) {
	_, why := Enabled(specWithEnv("SECRET_TOKEN=hunter2", "ARCH_ENABLE=maybe"))
	if strings.Contains(why, "hunter2") {
		t.Fatalf("reason leaks a secret: %q", why)
	}
}

func TestRawKeyPrecedence(t *testing.T) {
	k8s := map[string]string{
		AnnotationSandboxNamespace: "prod", AnnotationSandboxName: "train-0", AnnotationContainerName: "main",
	}
	cases := []struct {
		name   string
		env    []string
		annot  map[string]string
		want   string
		source KeySource
	}{
		{"explicit key wins", []string{"ARCH_CHECKPOINT_KEY=my/job", "AWS_BATCH_JOB_ID=b1"}, k8s, "my/job", KeyFromEnv},
		{"batch job id", []string{"AWS_BATCH_JOB_ID=b1"}, k8s, "b1", KeyFromBatch},
		{"kubernetes", nil, k8s, "prod/train-0/main", KeyFromKubernetes},
		{"partial kubernetes falls back", nil, map[string]string{AnnotationSandboxName: "x"}, "k8s.io/c1", KeyFromContainer},
		{"namespace and id", nil, nil, "k8s.io/c1", KeyFromContainer},
		{"empty explicit key ignored", []string{"ARCH_CHECKPOINT_KEY="}, nil, "k8s.io/c1", KeyFromContainer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := specWithEnv(c.env...)
			s.Annotations = c.annot
			got, src := RawKey(s, "k8s.io", "c1")
			if got != c.want || src != c.source {
				t.Fatalf("RawKey = %q (%s), want %q (%s)", got, src, c.want, c.source)
			}
		})
	}
}

func TestStorePath(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		want    string
		src     StoreSource
		wantErr bool
	}{
		{"checkpoint path wins", []string{"ARCH_CHECKPOINT_HOST_PATH=/ckpt/", "ARCH_SHAREDFS_HOST_PATH=/efs"}, "/ckpt", StoreFromCheckpointEnv, false},
		{"shared fs", []string{"ARCH_SHAREDFS_HOST_PATH=/mnt/efs"}, "/mnt/efs/checkpoint", StoreFromSharedFS, false},
		{"node default", nil, "/var/lib/arch/checkpoints", StoreFromConfig, false},
		{"relative path refused", []string{"ARCH_CHECKPOINT_HOST_PATH=ckpt"}, "/var/lib/arch/checkpoints", StoreFromConfig, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, src, err := StorePath(specWithEnv(c.env...), "/var/lib/arch/checkpoints")
			if got != c.want || src != c.src || (err != nil) != c.wantErr {
				t.Fatalf("StorePath = %q, %s, %v", got, src, err)
			}
		})
	}
}

func TestLoadBundle(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil {
		t.Fatal("missing config.json must be an error")
	}
	os.WriteFile(filepath.Join(dir, ConfigName), []byte(`{"ociVersion":`), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "parse") {
		t.Fatalf("invalid config.json: err = %v", err)
	}
	os.WriteFile(filepath.Join(dir, ConfigName), []byte(`{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"env":["ARCH_ENABLE=1"]}}`), 0o644)
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.Rootfs() != filepath.Join(dir, "rootfs") {
		t.Fatalf("Rootfs = %s", b.Rootfs())
	}
	if ok, _ := Enabled(b.Spec); !ok {
		t.Fatal("want enabled")
	}
}

func TestLoadRefusesASymlinkedConfig(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(outside, []byte(`{"ociVersion":"1.0.2","process":{"env":["ARCH_ENABLE=1"]}}`), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, ConfigName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("a config.json symlinked out of the bundle was read")
	}
}
