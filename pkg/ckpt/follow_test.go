package ckpt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dumpLike plays CRIU in a staging folder: the pages files appear and
// grow while the commit has begun; the other files come at the end.
type dumpLike struct {
	t       *testing.T
	staging string
	open    map[string]*os.File
}

func newDumpLike(t *testing.T) *dumpLike {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "staging")
	must(t, os.MkdirAll(dir, 0o700)) // checkpoint/ is made by BeginCommit, as runc finds it
	return &dumpLike{t: t, staging: dir, open: map[string]*os.File{}}
}

func (d *dumpLike) path(name string) string { return filepath.Join(d.staging, "checkpoint", name) }

// write adds data to the image file name, which stays open until close,
// as CRIU's writes do.
func (d *dumpLike) write(name string, data []byte) {
	d.t.Helper()
	f := d.open[name]
	if f == nil {
		var err error
		f, err = os.OpenFile(d.path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		must(d.t, err)
		d.open[name] = f
	}
	_, err := f.Write(data)
	must(d.t, err)
}

func (d *dumpLike) close(name string) {
	d.t.Helper()
	must(d.t, d.open[name].Close())
	delete(d.open, name)
}

// appendTo writes data to name in one open-write-close.
func (d *dumpLike) appendTo(name string, data []byte) {
	d.t.Helper()
	d.write(name, data)
	d.close(name)
}

// finish closes what is open and writes the small images and dump.log:
// the dump has ended.
func (d *dumpLike) finish() {
	d.t.Helper()
	for name := range d.open {
		d.close(name)
	}
	for name, data := range map[string]string{"pstree.img": "pstree", "core-1.img": strings.Repeat("core", 300), "pagemap-1.img": "map"} {
		must(d.t, os.WriteFile(d.path(name), []byte(data), 0o600))
	}
	must(d.t, os.WriteFile(filepath.Join(d.staging, "dump.log"), []byte(okLog), 0o600))
}

// waitIncoming polls until the key's archive being written has at least n
// bytes on disk: the stream is writing while the "dump" runs.
func waitIncoming(t *testing.T, s *Store, key Key, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, size := range s.IncomingSizes(key) {
			if size >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the archive never reached %d bytes while the dump ran: %v", n, s.IncomingSizes(key))
		}
		time.Sleep(time.Millisecond)
	}
}

// The pages files are archived while they are written, in the order they
// were created, and the image holds exactly the files of the dump.
func TestStreamedCommitArchivesPagesDuringTheDump(t *testing.T) {
	for _, comp := range []string{CompressionZstd, CompressionNone} {
		t.Run(comp, func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "default/c1")
			d := newDumpLike(t)
			in, err := s.BeginCommit(context.Background(), key, d.staging, CommitOptions{Compression: comp, Follow: true})
			must(t, err)
			p1, p2 := pagesData(5<<20+123, 1), pagesData(3<<20+7, 2)
			d.write("pages-2.img", p1[:3<<20]) // created first: streamed first
			// More than the first chunk reached the file: the archive is
			// written while the dump runs.
			waitIncoming(t, s, key, 1<<20+1)
			d.write("pages-2.img", p1[3<<20:])
			d.close("pages-2.img")
			d.appendTo("pages-1.img", p2)
			d.finish()
			m, err := in.Commit(context.Background(), testMeta())
			must(t, err)
			if in.Stats.Fallback != "" || in.Stats.Streamed != int64(len(p1)+len(p2)) {
				t.Fatalf("streamed %d bytes, fallback %q", in.Stats.Streamed, in.Stats.Fallback)
			}
			var order []string
			for _, mem := range m.Members[:3] {
				order = append(order, mem.Name)
			}
			if strings.Join(order, " ") != "checkpoint checkpoint/pages-2.img checkpoint/pages-1.img" {
				t.Fatalf("archive begins with %v", order)
			}
			img := current(t, s, key)
			must(t, img.Verify(context.Background()))
			out := filepath.Join(t.TempDir(), "out")
			must(t, img.Unpack(context.Background(), out))
			for name, want := range map[string][]byte{"pages-2.img": p1, "pages-1.img": p2, "pstree.img": []byte("pstree")} {
				got, err := os.ReadFile(filepath.Join(out, "checkpoint", name))
				must(t, err)
				if string(got) != string(want) {
					t.Fatalf("%s differs after unpack (%d vs %d bytes)", name, len(got), len(want))
				}
			}
		})
	}
}

// A pages file that changed after it was streamed (grown after CRIU closed
// it, or replaced) is not trusted: the archive is written again from the
// finished files, and holds them.
func TestStreamedCommitFallsBackWhenAStreamedFileChanged(t *testing.T) {
	for name, change := range map[string]func(d *dumpLike){
		"grown":    func(d *dumpLike) { d.appendTo("pages-1.img", []byte("late bytes")) },
		"replaced": func(d *dumpLike) { must(t, os.Rename(d.path("pages-9.img"), d.path("pages-1.img"))) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t)
			key := mustKey(t, "default/c1")
			d := newDumpLike(t)
			in, err := s.BeginCommit(context.Background(), key, d.staging, CommitOptions{Compression: CompressionNone, Follow: true})
			must(t, err)
			d.appendTo("pages-1.img", pagesData(2<<20, 1))
			waitIncoming(t, s, key, 2<<20)
			// pages-1 is closed (IN_CLOSE_WRITE): streamed whole before the
			// next file starts; pages-9 makes sure pages-1 was ended.
			d.appendTo("pages-9.img", pagesData(1<<20, 9))
			waitIncoming(t, s, key, 3<<20)
			change(d)
			d.finish()
			want, err := os.ReadFile(d.path("pages-1.img"))
			must(t, err)
			_, err = in.Commit(context.Background(), testMeta())
			must(t, err)
			if in.Stats.Fallback == "" {
				t.Fatal("the changed file was kept as streamed")
			}
			out := filepath.Join(t.TempDir(), "out")
			img := current(t, s, key)
			must(t, img.Unpack(context.Background(), out))
			got, err := os.ReadFile(filepath.Join(out, "checkpoint", "pages-1.img"))
			must(t, err)
			if string(got) != string(want) {
				t.Fatalf("pages-1.img in the image is not the finished file")
			}
		})
	}
}

// A symlink among the pages files is never followed: the commit fails and
// leaves nothing in the key's folder but its lock.
func TestStreamedCommitRefusesASymlinkedPagesFile(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	d := newDumpLike(t)
	secret := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secret, []byte("host secret"), 0o600))
	in, err := s.BeginCommit(context.Background(), key, d.staging, CommitOptions{Follow: true})
	must(t, err)
	must(t, os.Symlink(secret, d.path("pages-1.img")))
	d.finish()
	if _, err := in.Commit(context.Background(), testMeta()); err == nil {
		t.Fatal("a symlinked pages file was archived")
	}
	dir := s.KeyDir(key)
	for _, n := range folderNames(t, dir) {
		if n != ".lock" {
			t.Fatalf("left in the key folder: %v", folderNames(t, dir))
		}
	}
}

// Abort (the dump failed) removes the archive begun and unlocks the key.
func TestAbortedCommitLeavesNothing(t *testing.T) {
	s := newTestStore(t)
	key := mustKey(t, "default/c1")
	d := newDumpLike(t)
	in, err := s.BeginCommit(context.Background(), key, d.staging, CommitOptions{Follow: true})
	must(t, err)
	d.appendTo("pages-1.img", pagesData(2<<20, 1))
	waitIncoming(t, s, key, 1<<20)
	in.Abort()
	if sizes := s.IncomingSizes(key); len(sizes) != 0 {
		t.Fatalf("archive left behind: %v", sizes)
	}
	// The key is free again.
	commit(t, s, key, makeStaging(t, stagingOpts{pages: 1000}), CompressionNone)
}
