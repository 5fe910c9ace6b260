package specpatch

import "testing"

func TestSetCwd(t *testing.T) {
	tests := []struct {
		name        string
		fixture     string
		input       string
		cwd         string
		wantChanged bool
		wantErr     error
	}{
		{name: "sets cwd", fixture: "containerd-1.6-ctr-run.json", cwd: "/arch/work", wantChanged: true},
		{name: "keeps the other process fields", fixture: "future-fields.json", cwd: "/arch/work", wantChanged: true},
		{name: "same cwd is no change", fixture: "containerd-1.6-ctr-run.json", cwd: "/data"},
		{name: "adds cwd when process has none", input: `{"process":{"args":["sh"]}}`, cwd: "/", wantChanged: true},
		{name: "null cwd is replaced", input: `{"process":{"cwd":null}}`, cwd: "/", wantChanged: true},
		{name: "relative cwd is refused", fixture: "containerd-1.6-ctr-run.json", cwd: "data", wantErr: errAny},
		{name: "empty cwd is refused", fixture: "containerd-1.6-ctr-run.json", cwd: "", wantErr: errAny},
		{name: "missing process is refused", input: `{"ociVersion":"1.0.2"}`, cwd: "/", wantErr: ErrNoProcess},
		{name: "null process is refused", input: `{"process":null}`, cwd: "/", wantErr: ErrNoProcess},
		{name: "process that is not an object is refused", input: `{"process":"sh"}`, cwd: "/", wantErr: ErrNotObject},
		{name: "cwd that is not a string is refused", input: `{"process":{"cwd":1}}`, cwd: "/", wantErr: errAny},
		{name: "cwd under another case spelling is ambiguous", input: `{"process":{"Cwd":"/"}}`, cwd: "/", wantErr: ErrAmbiguousKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := docFor(t, tt.fixture, tt.input)
			want := docGeneric(t, d)
			changed, err := d.SetCwd(tt.cwd)
			if checkErr(t, err, tt.wantErr) {
				if d.Changed() {
					t.Fatal("a failed SetCwd changed the document")
				}
				return
			}
			if changed != tt.wantChanged || d.Changed() != tt.wantChanged {
				t.Fatalf("changed = %v, Changed() = %v, want %v", changed, d.Changed(), tt.wantChanged)
			}
			want["process"].(map[string]any)["cwd"] = tt.cwd
			mustEqual(t, "document", docGeneric(t, d), want)
			if again, err := d.SetCwd(tt.cwd); err != nil || again {
				t.Fatalf("second SetCwd = %v, %v; want false, nil", again, err)
			}
		})
	}
}
