package layer

import (
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// fileJob is a created file whose content (size bytes at off in the
// archive) and metadata a pool worker writes, then closes fd.
type fileJob struct {
	fd        int
	off, size int64
	m         *meta
}

// filePool writes file contents and metadata on several threads while
// Apply goes on reading the archive and creating names: the kernel work
// of many small files spreads over the cores. Names, journal and
// directories stay with Apply's own goroutine, so the pool only ever
// touches descriptors it is handed.
type filePool struct {
	src  int // the archive file
	jobs chan fileJob
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	done bool
}

func newFilePool(src int) *filePool {
	p := &filePool{src: src, jobs: make(chan fileJob, 128)}
	n := min(max(runtime.GOMAXPROCS(0), 1), 8)
	p.wg.Add(n)
	for range n {
		go p.work()
	}
	return p
}

func (p *filePool) work() {
	defer p.wg.Done()
	var cp copier
	for j := range p.jobs {
		if p.failed() != nil {
			unix.Close(j.fd) // failing already: only release
			continue
		}
		err := cp.copyAt(j.fd, -1, p.src, j.off, j.size)
		if err == nil {
			err = finishFile(j.fd, j.m)
		}
		if cerr := unix.Close(j.fd); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
		if err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
	}
}

func (p *filePool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// submit hands a job over, or reports a worker's earlier failure (the job
// is then dropped and its descriptor closed).
func (p *filePool) submit(j fileJob) error {
	if err := p.failed(); err != nil {
		unix.Close(j.fd)
		return fmt.Errorf("write file: %w", err)
	}
	p.jobs <- j
	return nil
}

// wait lets the workers finish and returns the first failure.
func (p *filePool) wait() error {
	if !p.done {
		p.done = true
		close(p.jobs)
		p.wg.Wait()
	}
	if err := p.failed(); err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	return nil
}
