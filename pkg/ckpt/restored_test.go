package ckpt

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestMarkRestoredOnlyMarksTheCurrentImage(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	staging := makeStaging(t, stagingOpts{})
	first := commit(t, s, key, staging, CompressionZstd)
	at := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
	must(t, s.MarkRestored(key, first.ImageID, RestoredInfo{RestoredAt: at, ContainerID: "c2"}))

	img := current(t, s, key)
	if img.Restored == nil || img.Restored.ContainerID != "c2" || !img.Restored.RestoredAt.Equal(at) || img.Restored.Node == "" {
		t.Fatalf("Restored = %+v", img.Restored)
	}
	entries, err := s.List(context.Background(), true)
	must(t, err)
	if len(entries) != 1 || entries[0].Status != StatusRestored || entries[0].Restored.ContainerID != "c2" {
		t.Fatalf("List = %+v", entries)
	}

	second := commit(t, s, key, staging, CompressionZstd)
	if err := s.MarkRestored(key, first.ImageID, RestoredInfo{}); !errors.Is(err, ErrNoImage) {
		t.Fatalf("marking a replaced image: err = %v, want ErrNoImage", err)
	}
	if img := current(t, s, key); img.Restored != nil || img.ID() != second.ImageID {
		t.Fatalf("new image %s restored %+v", img.ID(), img.Restored)
	}
	if err := s.MarkRestored(mustKey(t, "default/none"), first.ImageID, RestoredInfo{}); !errors.Is(err, ErrNoImage) {
		t.Fatalf("marking an unknown key: err = %v, want ErrNoImage", err)
	}
}

func TestRemoveIfCurrentRemovesOnlyTheNamedImage(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	staging := makeStaging(t, stagingOpts{})
	first := commit(t, s, key, staging, CompressionNone)
	second := commit(t, s, key, staging, CompressionNone)
	must(t, s.MarkRestored(key, second.ImageID, RestoredInfo{}))

	for _, tc := range []struct {
		name string
		key  Key
		id   string
		want bool
	}{
		{"replaced image", key, first.ImageID, false},
		{"unknown key", mustKey(t, "default/none"), second.ImageID, false},
		{"current image", key, second.ImageID, true},
		{"already removed", key, second.ImageID, false},
	} {
		removed, err := s.RemoveIfCurrent(tc.key, tc.id)
		if err != nil || removed != tc.want {
			t.Errorf("%s: RemoveIfCurrent = %v, %v; want %v", tc.name, removed, err, tc.want)
		}
	}
	if _, err := s.Current(key); !errors.Is(err, ErrNoImage) {
		t.Fatalf("after removal Current err = %v", err)
	}
	if got := folderNames(t, s.Root()); !slices.Equal(got, []string{key.Folder()}) {
		t.Fatalf("store holds %v: an unknown key must not get a folder", got)
	}
	if got := folderNames(t, s.keyDir(key)); !slices.Equal(got, []string{lockFile}) {
		t.Fatalf("key folder holds %v", got)
	}
}

// TestRestoresAreCountedAndTheLastExitNoted: every restore of the same
// image counts; a new image starts again at one; NoteExit keeps the exit
// status of the last restored container.
func TestRestoresAreCountedAndTheLastExitNoted(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "jobs/count")
	m := commit(t, s, key, makeStaging(t, stagingOpts{}), CompressionNone)
	for want := 1; want <= 3; want++ {
		must(t, s.MarkRestored(key, m.ImageID, RestoredInfo{ContainerID: "c"}))
		img := current(t, s, key)
		if img.Restored == nil || img.Restored.Attempts != want || img.Restored.LastExit != nil {
			t.Fatalf("after restore %d: %+v", want, img.Restored)
		}
		img.Close()
		must(t, s.NoteExit(key, m.ImageID, 3))
	}
	img := current(t, s, key)
	if img.Restored.LastExit == nil || *img.Restored.LastExit != 3 {
		t.Fatalf("last exit: %+v", img.Restored)
	}
	img.Close()
	m2 := commit(t, s, key, makeStaging(t, stagingOpts{}), CompressionNone)
	must(t, s.NoteExit(key, m.ImageID, 0)) // an old image's: nothing changes
	must(t, s.MarkRestored(key, m2.ImageID, RestoredInfo{ContainerID: "c"}))
	img = current(t, s, key)
	defer img.Close()
	if img.Restored.Attempts != 1 {
		t.Fatalf("a new image's first restore counts %d", img.Restored.Attempts)
	}
}
