package install

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

type dockerCase struct {
	name       string
	file       string // under testdata/docker; "" = no file
	setDefault bool
	old        string
	hadOld     bool
	wantDef    string // default-runtime after
	keep       []string
}

var dockerCases = []dockerCase{
	{name: "missing file", wantDef: ""},
	{name: "missing file, default", setDefault: true, wantDef: "arch"},
	{name: "other keys", file: "full.json", wantDef: "runc",
		keep: []string{"\t\"shutdown-timeout\": 1.50", "12345678901234567890", `"caf\u00e9 <b> & \"q\""`, "\t\t\"nvidia\": {"}},
	{name: "other keys, default", file: "full.json", setDefault: true, wantDef: "arch"},
	{name: "arch with another path", file: "arch-other-path.json", old: "/opt/arch/bin/arch-wrapper", hadOld: true, wantDef: "arch",
		keep: []string{`"runtimeArgs": [`, `"--debug"`}},
	{name: "compact", file: "compact.json", keep: []string{`"data-root": "/srv/docker"`}},
}

func TestDocker(t *testing.T) {
	binary := fakeBinary(t)
	for _, tc := range dockerCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "docker", "daemon.json")
			var orig []byte
			if tc.file != "" {
				orig, _ = os.ReadFile(filepath.Join("testdata/docker", tc.file))
				must(t, os.MkdirAll(filepath.Dir(path), 0o755))
				must(t, os.WriteFile(path, orig, 0o600))
			}
			opts := DockerOptions{DaemonJSON: path, Binary: binary, SetDefault: tc.setDefault, Now: clock}
			r, err := Docker(opts)
			must(t, err)
			if !r.Changed || r.Old != tc.old || r.HadOld != tc.hadOld || r.DefaultRuntime != tc.wantDef {
				t.Fatalf("result %+v", r)
			}
			got, _ := os.ReadFile(path)
			var doc map[string]any
			must(t, json.Unmarshal(got, &doc))
			rt := doc["runtimes"].(map[string]any)["arch"].(map[string]any)
			if rt["path"] != binary {
				t.Errorf("runtimes.arch.path = %v", rt["path"])
			}
			def, _ := doc["default-runtime"].(string)
			if def != tc.wantDef {
				t.Errorf("default-runtime = %q", def)
			}
			for _, k := range tc.keep {
				if !bytes.Contains(got, []byte(k)) {
					t.Errorf("%q lost:\n%s", k, got)
				}
			}
			st, _ := os.Stat(path)
			if tc.file == "" {
				if st.Mode().Perm() != 0o644 || r.Backup != "" {
					t.Errorf("new file mode %v backup %q", st.Mode().Perm(), r.Backup)
				}
			} else {
				if st.Mode().Perm() != 0o600 {
					t.Errorf("mode %v", st.Mode().Perm())
				}
				checkBackup(t, r.Backup, path, orig, 0o600)
				sameOtherKeys(t, orig, got, tc.setDefault)
			}
			before := names(t, filepath.Dir(path))
			r2, err := Docker(opts)
			must(t, err)
			again, _ := os.ReadFile(path)
			if r2.Changed || !bytes.Equal(again, got) || !slices.Equal(before, names(t, filepath.Dir(path))) {
				t.Errorf("second run changed something: %+v", r2)
			}
		})
	}
}

// sameOtherKeys asserts that everything but runtimes.arch (and
// default-runtime when it was set) is unchanged, numbers to the digit, and
// in the same order.
func sameOtherKeys(t *testing.T, orig, got []byte, setDefault bool) {
	t.Helper()
	strip := func(data []byte) (map[string]any, []string) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var m map[string]any
		must(t, dec.Decode(&m))
		if rts, ok := m["runtimes"].(map[string]any); ok {
			if a, ok := rts["arch"].(map[string]any); ok {
				delete(a, "path")
				if len(a) == 0 {
					delete(rts, "arch")
				}
			}
			if len(rts) == 0 {
				delete(m, "runtimes")
			}
		}
		if setDefault {
			delete(m, "default-runtime")
		}
		o, err := parseObject(data)
		must(t, err)
		var keys []string
		for _, mem := range o.members {
			if _, ok := m[mem.key]; ok {
				keys = append(keys, mem.key)
			}
		}
		return m, keys
	}
	a, ka := strip(orig)
	b, kb := strip(got)
	if !reflect.DeepEqual(a, b) || !slices.Equal(ka, kb) {
		t.Errorf("other keys changed:\n%v %v\n%v %v", a, ka, b, kb)
	}
}

func TestDockerRefuses(t *testing.T) {
	binary := fakeBinary(t)
	refuses(t, "testdata/docker", "daemon.json", map[string]string{
		"duplicate.json":          "appears twice",
		"broken.json":             "parse JSON",
		"array.json":              "not an object",
		"runtime-not-object.json": "runtimes.arch",
	}, func(path string) error {
		_, err := Docker(DockerOptions{DaemonJSON: path, Binary: binary})
		return err
	})
}

func TestDockerDryRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	orig, _ := os.ReadFile("testdata/docker/full.json")
	must(t, os.WriteFile(path, orig, 0o644))
	r, err := Docker(DockerOptions{DaemonJSON: path, Binary: fakeBinary(t), SetDefault: true, DryRun: true})
	must(t, err)
	got, _ := os.ReadFile(path)
	if !r.Changed || len(r.Changes) != 2 || !bytes.Equal(got, orig) || r.Backup != "" {
		t.Fatalf("dry run %+v", r)
	}
}
