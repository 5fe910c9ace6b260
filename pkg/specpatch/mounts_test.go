package specpatch

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestAddMount(t *testing.T) {
	dataMount := specs.Mount{Destination: "/data", Type: "bind", Source: "/var/lib/data", Options: []string{"rbind", "ro"}}
	with := func(f func(*specs.Mount)) specs.Mount {
		m := dataMount
		m.Options = append([]string(nil), dataMount.Options...)
		f(&m)
		return m
	}
	tests := []struct {
		name        string
		fixture     string
		input       string
		mount       specs.Mount
		wantChanged bool
		wantErr     error
		wantDests   []string
	}{
		{name: "appends after the existing mounts", fixture: "containerd-1.6-ctr-run.json",
			mount: archMount, wantChanged: true,
			wantDests: []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/run", "/run/arch"}},
		{name: "identical mount is no change", fixture: "no-hooks.json",
			mount: dataMount, wantDests: []string{"/proc", "/data"}},
		{name: "identical mount spelled with a trailing slash is no change", fixture: "no-hooks.json",
			mount: with(func(m *specs.Mount) { m.Destination = "/data/" }), wantDests: []string{"/proc", "/data"}},
		{name: "other source on the same destination is taken", fixture: "no-hooks.json",
			mount: with(func(m *specs.Mount) { m.Source = "/srv/other" }), wantErr: ErrMountTargetTaken},
		{name: "other options on the same destination is taken", fixture: "no-hooks.json",
			mount: with(func(m *specs.Mount) { m.Options = []string{"ro", "rbind"} }), wantErr: ErrMountTargetTaken},
		{name: "other type on the same destination is taken", fixture: "containerd-1.6-ctr-run.json",
			mount:   specs.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind"}},
			wantErr: ErrMountTargetTaken},
		{name: "same destination after cleaning is taken", fixture: "no-hooks.json",
			mount: with(func(m *specs.Mount) { m.Destination = "/x/../data/."; m.Source = "/srv/other" }), wantErr: ErrMountTargetTaken},
		{name: "relative destination of an existing mount counts from the root", input: `{"mounts":[{"destination":"data","type":"tmpfs","source":"tmpfs"}]}`,
			mount: dataMount, wantErr: ErrMountTargetTaken},
		{name: "child of an existing destination is added", fixture: "no-hooks.json",
			mount: with(func(m *specs.Mount) { m.Destination = "/data/sub" }), wantChanged: true,
			wantDests: []string{"/proc", "/data", "/data/sub"}},
		{name: "parent of an existing destination is added", fixture: "future-fields.json",
			mount: specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs"}, wantChanged: true,
			wantDests: []string{"/proc", "/mnt/shared", "/mnt"}},
		{name: "absent mounts are created", fixture: "no-mounts.json",
			mount: archMount, wantChanged: true, wantDests: []string{"/run/arch"}},
		{name: "null mounts are like absent", input: `{"mounts":null}`,
			mount: archMount, wantChanged: true, wantDests: []string{"/run/arch"}},
		{name: "relative destination is refused", fixture: "no-mounts.json",
			mount: specs.Mount{Destination: "run/arch"}, wantErr: errAny},
		{name: "mounts that is not an array is refused", input: `{"mounts":{"destination":"/x"}}`,
			mount: archMount, wantErr: errAny},
		{name: "mount entry of the wrong type is refused", input: `{"mounts":[{"destination":"/x","options":"ro"}]}`,
			mount: archMount, wantErr: errAny},
		{name: "mounts under another case spelling is ambiguous", input: `{"Mounts":[]}`,
			mount: archMount, wantErr: ErrAmbiguousKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := docFor(t, tt.fixture, tt.input)
			before, _ := d.Bytes()
			changed, err := d.AddMount(tt.mount)
			if checkErr(t, err, tt.wantErr) {
				if after, _ := d.Bytes(); d.Changed() || string(after) != string(before) {
					t.Fatal("a failed AddMount changed the document")
				}
				return
			}
			if changed != tt.wantChanged || d.Changed() != tt.wantChanged {
				t.Fatalf("changed = %v, Changed() = %v, want %v", changed, d.Changed(), tt.wantChanged)
			}
			var dests []string
			mounts, _ := docGeneric(t, d)["mounts"].([]any)
			for _, m := range mounts {
				dests = append(dests, m.(map[string]any)["destination"].(string))
			}
			mustEqual(t, "destinations", dests, tt.wantDests)
			if again, err := d.AddMount(tt.mount); err != nil || again {
				t.Fatalf("second AddMount = %v, %v; want false, nil", again, err)
			}
		})
	}
}
