package install

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzSetBinaryName runs the line editor on arbitrary files, runtime names
// and binary paths. Properties: no panic; on a file a real TOML parser
// reads, an edit the editor makes passes verifyEdit (the file means the
// same with BinaryName set, nothing else), and "nothing to change" means
// the file already says what the edit would. The seed corpus is the test
// configurations.
func FuzzSetBinaryName(f *testing.F) {
	files, err := filepath.Glob("testdata/containerd/*.toml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed configurations: %v", err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "runc", "/usr/local/bin/arch-wrapper")
		f.Add(data, "arch", `/opt/a "b"\c`)
	}
	f.Add([]byte{}, "0", "\xba") // not UTF-8: refused by checkTOMLText
	f.Fuzz(func(t *testing.T, data []byte, runtime, binary string) {
		if runtime == "" {
			runtime = DefaultRuntime // as Containerd does
		}
		if checkTOMLText(runtime, binary) != nil {
			return // Containerd refuses these first
		}
		e, err := setBinaryName(data, runtime, binary)
		if err != nil || checkReadable(data) != nil {
			return // refused, or a broken file Containerd does not edit
		}
		out := e.out
		if !e.changed {
			out = data
		}
		if err := verifyEdit(data, out, runtime, binary); err != nil {
			t.Fatalf("changed %v: %v\nbefore:\n%s\nafter:\n%s", e.changed, err, data, out)
		}
	})
}
