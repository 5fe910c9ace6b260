package specpatch

import "testing"

func TestAddAnnotation(t *testing.T) {
	const key, value = "org.criu.config", "/run/arch/c1.criu.conf"
	tests := []struct {
		name        string
		fixture     string
		input       string
		want        string // the value after; "" = as before
		wantChanged bool
		wantErr     error
	}{
		{name: "adds to a containerd config.json", fixture: "containerd-1.6-ctr-run.json", want: value, wantChanged: true},
		{name: "keeps future fields", fixture: "future-fields.json", want: value, wantChanged: true},
		{name: "creates annotations", input: `{"process":{"args":["sh"]}}`, want: value, wantChanged: true},
		{name: "replaces null annotations", input: `{"annotations":null}`, want: value, wantChanged: true},
		{name: "keeps the other annotations", input: `{"annotations":{"a":"1","b":"2"}}`, want: value, wantChanged: true},
		{name: "the owner's value wins", input: `{"annotations":{"org.criu.config":"/etc/mine.conf"}}`},
		{name: "an empty owner's value wins", input: `{"annotations":{"org.criu.config":""}}`},
		{name: "annotations that are not an object are refused", input: `{"annotations":[1]}`, wantErr: ErrNotObject},
		{name: "annotations under another case spelling are ambiguous", input: `{"Annotations":{}}`, wantErr: ErrAmbiguousKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := docFor(t, tt.fixture, tt.input)
			want := docGeneric(t, d)
			changed, err := d.AddAnnotation(key, value)
			if checkErr(t, err, tt.wantErr) {
				if d.Changed() {
					t.Fatal("a failed AddAnnotation changed the document")
				}
				return
			}
			if changed != tt.wantChanged || d.Changed() != tt.wantChanged {
				t.Fatalf("changed = %v, Changed() = %v, want %v", changed, d.Changed(), tt.wantChanged)
			}
			if tt.want != "" {
				a, _ := want["annotations"].(map[string]any)
				if a == nil {
					a = map[string]any{}
				}
				a[key] = tt.want
				want["annotations"] = a
			}
			mustEqual(t, "document", docGeneric(t, d), want)
			if again, err := d.AddAnnotation(key, value); err != nil || again {
				t.Fatalf("second AddAnnotation = %v, %v; want false, nil", again, err)
			}
		})
	}
}
