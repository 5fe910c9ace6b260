package ckpt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// followPoll is how often a growing pages file is looked at when inotify
// has said nothing: CRIU writes a task's pages in one go, so a file grows
// by megabytes between two looks.
const followPoll = 2 * time.Millisecond

// follower archives CRIU's pages files (nearly all of an image's bytes)
// while CRIU writes them, so that the archive is written, and the disk
// busy, during the dump rather than after it. One file at a time, in the
// order CRIU creates them, is streamed from its first byte as it grows
// (CRIU only appends to them); a file ends when CRIU has closed it
// (inotify's IN_CLOSE_WRITE) or when the dump has ended. What was
// streamed is checked against the finished files before it is kept.
type follower struct {
	ctx   context.Context
	dir   string // the dump's image folder
	w     *archiveWriter
	ended chan struct{} // closed when the dump has ended
	done  chan struct{}
	ifd   int

	// Set by the goroutine, read after done is closed.
	files []followed
	err   error
}

// followed is a streamed file: its member name, identity and size.
type followed struct {
	member   string
	dev, ino uint64
	size     int64
}

// isPagesFile reports whether name is one of CRIU's pages images.
func isPagesFile(name string) bool {
	return strings.HasPrefix(name, "pages-") && strings.HasSuffix(name, ".img")
}

// startFollower starts streaming the pages files that appear in dir (the
// image folder, member memberDir of the archive) into w.
func startFollower(ctx context.Context, dir, memberDir string, w *archiveWriter) (*follower, error) {
	ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(ifd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW); err != nil {
		unix.Close(ifd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	f := &follower{ctx: ctx, dir: dir, w: w, ended: make(chan struct{}), done: make(chan struct{}), ifd: ifd}
	go f.run(memberDir)
	return f, nil
}

// finish tells the follower that the dump has ended, waits until it has
// streamed every pages file to its end and checks that each is, now that
// CRIU is done, the file it streamed, whole.
func (f *follower) finish() error {
	close(f.ended)
	<-f.done
	if f.err != nil {
		return f.err
	}
	for _, fl := range f.files {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(f.dir, path.Base(fl.member)), &st)
		switch {
		case err != nil:
			return fmt.Errorf("streamed %s: %w", fl.member, err)
		case st.Mode&unix.S_IFMT != unix.S_IFREG || st.Dev != fl.dev || st.Ino != fl.ino:
			return fmt.Errorf("streamed %s was replaced during the dump", fl.member)
		case st.Size != fl.size:
			return fmt.Errorf("streamed %s: %d bytes streamed, the file has %d", fl.member, fl.size, st.Size)
		}
	}
	return nil
}

// stop ends the follower without using what it streamed.
func (f *follower) stop() {
	select {
	case <-f.ended:
	default:
		close(f.ended)
	}
	<-f.done
}

// growing is the pages file being streamed.
type growing struct {
	f    *os.File
	st   followed
	ms   *memberStream
	done int64
}

func (f *follower) run(memberDir string) {
	defer close(f.done)
	defer unix.Close(f.ifd)
	var (
		queue  []string
		seen   = map[string]bool{}
		closed = map[string]bool{}
		cur    *growing
		ended  bool
		events = make([]byte, 64<<10)
	)
	defer func() {
		if cur != nil {
			cur.f.Close()
		}
	}()
	enqueue := func(name string) {
		if isPagesFile(name) && !seen[name] {
			seen[name] = true
			queue = append(queue, name)
		}
	}
	for {
		f.readEvents(events, enqueue, closed)
		if ended && cur == nil && len(queue) == 0 {
			// Files created before the watch, or whose events were lost.
			ents, err := os.ReadDir(f.dir)
			if err != nil {
				f.err = fmt.Errorf("read %s: %w", f.dir, err)
				return
			}
			for _, e := range ents {
				enqueue(e.Name())
			}
			if len(queue) == 0 {
				return
			}
		}
		if cur == nil && len(queue) > 0 {
			var err error
			if cur, err = f.open(memberDir, queue[0]); err != nil {
				f.err = err
				return
			}
			queue = queue[1:]
		}
		grew := false
		if cur != nil {
			size, err := f.pump(cur)
			if err != nil {
				f.err = err
				return
			}
			grew = size > 0
			if closed[path.Base(cur.st.member)] || ended {
				if size, err = f.pump(cur); err != nil { // the last bytes before the close
					f.err = err
					return
				}
				if err := f.w.endStream(cur.ms); err != nil {
					f.err = err
					return
				}
				cur.st.size = cur.done
				f.files = append(f.files, cur.st)
				cur.f.Close()
				cur = nil
				continue
			}
		}
		if grew {
			continue
		}
		f.w.out.flush()
		select {
		case <-f.ended:
			ended = true
		case <-f.ctx.Done():
			f.err = f.ctx.Err()
			return
		case <-time.After(followPoll):
		}
	}
}

// readEvents takes inotify's pending events: created files are queued,
// closed ones noted.
func (f *follower) readEvents(buf []byte, enqueue func(string), closed map[string]bool) {
	for {
		n, err := unix.Read(f.ifd, buf)
		if n <= 0 || err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameEnd := off + unix.SizeofInotifyEvent + int(ev.Len)
			if nameEnd > n {
				return
			}
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:nameEnd], "\x00"))
			if ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
				enqueue(name)
			}
			if ev.Mask&unix.IN_CLOSE_WRITE != 0 {
				closed[name] = true
			}
			off = nameEnd
		}
	}
}

// open starts streaming the pages file name.
func (f *follower) open(memberDir, name string) (*growing, error) {
	file, err := os.OpenFile(filepath.Join(f.dir, name), os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		file.Close()
		return nil, fmt.Errorf("follow %s: %w", name, errors.Join(err, errors.New("not a regular file")))
	}
	member := memberDir + "/" + name
	if err := checkMemberName(member); err != nil {
		file.Close()
		return nil, fmt.Errorf("follow %s: %w", echo(name), err)
	}
	ms, err := f.w.beginStream(member)
	if err != nil {
		file.Close()
		return nil, err
	}
	return &growing{f: file, st: followed{member: member, dev: st.Dev, ino: st.Ino}, ms: ms}, nil
}

// pump streams what cur has gained since the last look and returns how
// many bytes that was.
func (f *follower) pump(cur *growing) (int64, error) {
	t0 := time.Now()
	defer func() { f.w.stats.Follow += time.Since(t0) }()
	fi, err := cur.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("follow %s: %w", cur.st.member, err)
	}
	start := cur.done
	for cur.done < fi.Size() {
		if err := f.ctx.Err(); err != nil {
			return 0, err
		}
		buf := f.w.copyBuf[:min(int64(len(f.w.copyBuf)), fi.Size()-cur.done)]
		n, err := cur.f.ReadAt(buf, cur.done)
		if n > 0 {
			if werr := f.w.streamData(cur.ms, buf[:n]); werr != nil {
				return 0, werr
			}
			cur.done += int64(n)
		}
		if err != nil {
			break // the size seen was ahead of the data: next look
		}
	}
	return cur.done - start, nil
}
