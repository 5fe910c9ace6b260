package ckpt

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestListReportsStatusWithAndWithoutVerify(t *testing.T) {
	s := newTestStore(t)
	good, flipped, short := mustKey(t, "list/good"), mustKey(t, "list/flipped"), mustKey(t, "list/short")
	staging := makeStaging(t, stagingOpts{pages: 10000})
	gm := commit(t, s, good, staging, CompressionNone)
	fm := commit(t, s, flipped, staging, CompressionNone)
	sm := commit(t, s, short, staging, CompressionNone)
	p := filepath.Join(s.keyDir(flipped), fm.Archive.Name)
	data, _ := os.ReadFile(p)
	data[len(data)-2000] ^= 1 // inside the last member
	must(t, os.WriteFile(p, data, 0o600))
	must(t, os.Truncate(filepath.Join(s.keyDir(short), sm.Archive.Name), 1000))
	must(t, os.MkdirAll(s.keyDir(mustKey(t, "list/empty")), 0o700))

	for _, tc := range []struct {
		verify bool
		want   map[string]Status
	}{
		{false, map[string]Status{"list/good": StatusComplete, "list/flipped": StatusComplete, "list/short": StatusCorrupt}},
		{true, map[string]Status{"list/good": StatusComplete, "list/flipped": StatusCorrupt, "list/short": StatusCorrupt}},
	} {
		entries, err := s.List(context.Background(), tc.verify)
		must(t, err)
		if len(entries) != len(tc.want) {
			t.Errorf("verify=%v: %d entries, want %d (an empty key folder is not listed)", tc.verify, len(entries), len(tc.want))
		}
		for _, e := range entries {
			if e.Status != tc.want[e.Key.String()] {
				t.Errorf("verify=%v: %s is %q (%v), want %q", tc.verify, e.Key, e.Status, e.Err, tc.want[e.Key.String()])
			}
			if e.Key == good && (e.ImageID != gm.ImageID || e.Size != gm.Archive.Size || !e.CheckpointedAt.Equal(gm.CheckpointedAt) || e.Err != nil) {
				t.Errorf("entry %+v", e)
			}
		}
	}
}
