package ckpt

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	metadata "github.com/checkpoint-restore/checkpointctl/lib"
)

func TestCommitThenCurrentVerifyUnpackGivesIdenticalBytes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		compression string
		opts        stagingOpts
	}{
		{"zstd minimal", CompressionZstd, stagingOpts{pages: 1 << 20}},
		{"plain minimal", CompressionNone, stagingOpts{pages: 1 << 20}},
		{"zstd with optional files and nested folder", CompressionZstd, stagingOpts{pages: 3<<20 + 17, optional: true, nested: true}},
		{"plain with optional files and nested folder", CompressionNone, stagingOpts{pages: 3<<20 + 17, optional: true, nested: true}},
		{"default compression is zstd", "", stagingOpts{pages: 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "k8s.io/ns/pod/ctr")
			staging := makeStaging(t, tc.opts)
			var progress []int64
			m, err := s.Commit(context.Background(), key, staging, testMeta(), CommitOptions{
				Compression: tc.compression,
				Progress:    func(n int64) { progress = append(progress, n) },
			})
			must(t, err)
			wantComp := tc.compression
			if wantComp == "" {
				wantComp = CompressionZstd
			}
			if m.Archive.Compression != wantComp || m.Archive.Name != archiveName(m.ImageID, wantComp) {
				t.Fatalf("archive %+v", m.Archive)
			}
			if len(progress) == 0 || progress[len(progress)-1] != m.Archive.Size || !slices.IsSorted(progress) {
				t.Fatalf("progress %v, archive size %d", progress, m.Archive.Size)
			}

			img := current(t, s, key)
			if img.ID() != m.ImageID || !reflect.DeepEqual(img.Manifest, m) {
				t.Fatalf("Current gave %+v, Commit gave %+v", img.Manifest, m)
			}
			must(t, img.Verify(context.Background()))

			dst := filepath.Join(t.TempDir(), "restore", "dst")
			must(t, img.Unpack(context.Background(), dst))
			got := treeOf(t, dst)
			want := treeOf(t, staging)
			if got["spec.dump"] != testSpec {
				t.Errorf("spec.dump = %q", got["spec.dump"])
			}
			var cfg map[string]any
			must(t, json.Unmarshal([]byte(got["config.dump"]), &cfg))
			if cfg["id"] != "c1" || cfg["runtime"] != "runc" || cfg["restored"] != false || cfg["rootfsImageName"] != "docker.io/library/busybox:latest" {
				t.Errorf("config.dump = %v", cfg)
			}
			// checkpointctl's own reader takes it, with our times.
			cc, _, err := metadata.ReadContainerCheckpointConfigDump(dst)
			must(t, err)
			if cc.ID != "c1" || !cc.CheckpointedAt.Equal(m.CheckpointedAt) || !cc.CreatedTime.Equal(testMeta().CreatedAt) || cc.Restored {
				t.Errorf("checkpointctl reads config.dump as %+v", cc)
			}
			delete(got, "spec.dump")
			delete(got, "config.dump")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("unpacked tree differs from staging:\n got %v\nwant %v", keys(got), keys(want))
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestCommitWritesEcosystemLayoutWithSafeModes(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	commit(t, s, key, makeStaging(t, stagingOpts{pages: 10, optional: true, nested: true}), CompressionNone)
	img := current(t, s, key)
	var names []string
	for _, e := range readEntries(t, img) {
		names = append(names, e.hdr.Name)
		wantMode := int64(0o600)
		if e.hdr.Typeflag == tar.TypeDir {
			wantMode = 0o700
		}
		if e.hdr.Mode != wantMode || e.hdr.Uid != 0 || e.hdr.Gid != 0 || e.hdr.ModTime.IsZero() {
			t.Errorf("%s: mode %o uid %d gid %d mtime %v", e.hdr.Name, e.hdr.Mode, e.hdr.Uid, e.hdr.Gid, e.hdr.ModTime)
		}
	}
	want := []string{"config.dump", "spec.dump", "dump.log", "stats-dump", "checkpoint/",
		"checkpoint/core-1.img", "checkpoint/descriptors.json", "checkpoint/empty.img", "checkpoint/pages-1.img",
		"checkpoint/pstree.img", "checkpoint/sub/", "checkpoint/sub/inner.img",
		"rootfs-diff.tar", "deleted.files", "bind.mounts"}
	if !slices.Equal(names, want) {
		t.Fatalf("members\n got %v\nwant %v", names, want)
	}
	for _, p := range []string{s.Root(), s.keyDir(key)} {
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v", p, st.Mode().Perm())
		}
	}
	for _, n := range folderNames(t, s.keyDir(key)) {
		if st, _ := os.Stat(filepath.Join(s.keyDir(key), n)); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", n, st.Mode().Perm())
		}
	}
}

func TestReplacingImageKeepsExactlyOneArchive(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	staging := makeStaging(t, stagingOpts{pages: 5000})
	first := commit(t, s, key, staging, CompressionZstd)
	must(t, s.MarkRestored(key, first.ImageID, RestoredInfo{ContainerID: "c1"}))
	for _, comp := range []string{CompressionNone, CompressionZstd, CompressionZstd} {
		m := commit(t, s, key, staging, comp)
		want := []string{lockFile, m.Archive.Name, manifestFile}
		slices.Sort(want)
		if got := folderNames(t, s.keyDir(key)); !slices.Equal(got, want) {
			t.Fatalf("after commit of %s: folder holds %v, want %v", m.ImageID, got, want)
		}
		img := current(t, s, key)
		if img.ID() != m.ImageID || img.Restored != nil {
			t.Fatalf("current %s restored %v, want %s not restored", img.ID(), img.Restored, m.ImageID)
		}
	}
}

func TestCommitRefusesDumpWithoutSuccessLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  string
		ok   bool
	}{
		{"success line", okLog, true},
		{"success line and trailing whitespace", okLog + " \n\n\t\r\n", true},
		{"error at the end", "(00.1) Dumping finished successfully\n(00.2) Error (criu/cr-dump.c:2093): Dumping FAILED.\n", false},
		{"cut short", "(00.1) Dumping pages\n", false},
		{"only whitespace", " \n\n", false},
		{"success text not at line end", "(00.2) Dumping finished successfully, not\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "default/c1")
			_, err := s.Commit(context.Background(), key, makeStaging(t, stagingOpts{log: tc.log}), testMeta(), CommitOptions{})
			if tc.ok {
				must(t, err)
				return
			}
			if !errors.Is(err, ErrDumpFailed) {
				t.Fatalf("err = %v, want ErrDumpFailed", err)
			}
			if _, err := os.Stat(s.Root()); !os.IsNotExist(err) {
				t.Errorf("a refused commit created the store: %v", err)
			}
		})
	}
	t.Run("missing dump.log", func(t *testing.T) {
		staging := makeStaging(t, stagingOpts{})
		must(t, os.Remove(filepath.Join(staging, "dump.log")))
		_, err := newTestStore(t).Commit(context.Background(), mustKey(t, "a"), staging, testMeta(), CommitOptions{})
		if !errors.Is(err, ErrDumpFailed) {
			t.Fatalf("err = %v, want ErrDumpFailed", err)
		}
	})
}

func TestCommitRejectsBadInput(t *testing.T) {
	noSpec := testMeta()
	noSpec.Spec = []byte("{not json")
	noID := testMeta()
	noID.ContainerID = ""
	for _, tc := range []struct {
		name    string
		meta    Meta
		opt     CommitOptions
		staging func(string)
		want    string
	}{
		{"spec is not JSON", noSpec, CommitOptions{}, nil, "Spec is not valid JSON"},
		{"no container id", noID, CommitOptions{}, nil, "ContainerID missing"},
		{"unknown compression", testMeta(), CommitOptions{Compression: "gzip"}, nil, `compression "gzip"`},
		{"no checkpoint folder", testMeta(), CommitOptions{}, func(d string) { os.RemoveAll(filepath.Join(d, "checkpoint")) }, "CRIU image folder"},
		{"symlink in checkpoint folder", testMeta(), CommitOptions{}, func(d string) { os.Symlink("/etc/passwd", filepath.Join(d, "checkpoint/evil")) }, "not a regular file"},
		{"symlinked optional file", testMeta(), CommitOptions{}, func(d string) { os.Symlink("/etc/passwd", filepath.Join(d, "bind.mounts")) }, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			staging := makeStaging(t, stagingOpts{})
			if tc.staging != nil {
				tc.staging(staging)
			}
			s := newTestStore(t)
			_, err := s.Commit(context.Background(), mustKey(t, "a"), staging, tc.meta, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestCancelledCommitLeavesPreviousImageValid(t *testing.T) {
	for _, comp := range []string{CompressionZstd, CompressionNone} {
		t.Run(comp, func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "default/c1")
			prev := commit(t, s, key, makeStaging(t, stagingOpts{pages: 100}), comp)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := s.Commit(ctx, key, makeStaging(t, stagingOpts{pages: 32 << 20}), testMeta(), CommitOptions{
				Compression: comp,
				Progress: func(n int64) {
					if n > 2<<20 {
						cancel()
					}
				},
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			want := []string{lockFile, prev.Archive.Name, manifestFile}
			slices.Sort(want)
			if got := folderNames(t, s.keyDir(key)); !slices.Equal(got, want) {
				t.Fatalf("folder holds %v, want %v", got, want)
			}
			img := current(t, s, key)
			if img.ID() != prev.ImageID {
				t.Fatalf("current is %s, want %s", img.ID(), prev.ImageID)
			}
			must(t, img.Verify(context.Background()))
		})
	}
}

func TestImageStaysReadableWhileReplaced(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	staging := makeStaging(t, stagingOpts{pages: 1000})
	commit(t, s, key, staging, CompressionZstd)
	img := current(t, s, key)
	commit(t, s, key, staging, CompressionZstd) // removes img's archive file
	must(t, img.Verify(context.Background()))
	must(t, img.Unpack(context.Background(), filepath.Join(t.TempDir(), "dst")))
}

func TestConcurrentCommitsAndReadersNeverSeeHalfAnImage(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	staging := makeStaging(t, stagingOpts{pages: 256 << 10})
	commit(t, s, key, staging, CompressionZstd)

	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-done:
				return
			default:
			}
			img, err := s.Current(key)
			if err == nil {
				err = img.Verify(context.Background())
				img.Close()
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	errs := make(chan error)
	for i := range 4 {
		go func() {
			comp := []string{CompressionZstd, CompressionNone}[i%2]
			_, err := s.Commit(context.Background(), key, staging, testMeta(), CommitOptions{Compression: comp})
			errs <- err
		}()
	}
	for range 4 {
		must(t, <-errs)
	}
	close(done)
	if err := <-readErr; err != nil {
		t.Fatalf("a reader saw a broken image: %v", err)
	}
	img := current(t, s, key)
	want := []string{lockFile, img.Manifest.Archive.Name, manifestFile}
	slices.Sort(want)
	if got := folderNames(t, s.keyDir(key)); !slices.Equal(got, want) {
		t.Fatalf("folder holds %v, want %v", got, want)
	}
}
