package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ctrCheckpoint measures what a containerd user waits for: `ctr task
// checkpoint --exit` of an enabled container holding -mib MiB of random
// memory, end to end, against ARCH's own checkpoint inside it (the total
// of its phases in ARCH's log, same call). The difference is containerd's
// share: ctr, the pause, the shim, and the checkpoint image containerd
// makes of what ARCH gives its --image-path (a reference to ARCH's image,
// not a second copy of the dump). Each round checkpoints a fresh
// container; containerd's checkpoint images are removed.
func ctrCheckpoint(args []string) error {
	fs := flag.NewFlagSet("ctrckpt", flag.ExitOnError)
	e := commonFlags(fs)
	mib := fs.Int("mib", 256, "touched memory of the workload")
	runs := fs.Int("runs", 5, "rounds")
	fs.Parse(args)
	work, cleanup, err := workDir(e.work)
	if err != nil {
		return err
	}
	defer cleanup()
	d := &drainRig{env: e, work: work, n: 1, mib: *mib, width: 1}
	if err := d.setUp(); err != nil {
		return err
	}
	defer d.tearDown()
	archLog := filepath.Join(work, "arch.log")
	var walls, arch []time.Duration
	for i := range *runs {
		id := fmt.Sprintf("ctr-%02d", i)
		if err := d.run(id); err != nil {
			return err
		}
		from := logSize(archLog)
		t0 := time.Now()
		if err := d.ctr("task", "checkpoint", "--exit", id); err != nil {
			return err
		}
		walls = append(walls, time.Since(t0))
		var total time.Duration
		eachLogLineFrom(archLog, from, func(m map[string]any) {
			if m["id"] == id && m["msg"] == "checkpoint committed, container stopped" {
				ph, _ := m["phases"].(map[string]any)
				total = ms(ph["total"])
			}
		})
		if total == 0 {
			return fmt.Errorf("round %d: ARCH did not checkpoint %s (see %s)", i, id, archLog)
		}
		arch = append(arch, total)
		d.remove(id)
		d.removeImagesBut(d.imgRef)
	}
	header()
	row(fmt.Sprintf("ctr task checkpoint --exit, %d MiB: end to end vs ARCH's own", *mib), median(walls), median(arch), "<= 1.2")
	return nil
}

// removeImagesBut removes every image of the bench namespace but keep
// (containerd's checkpoint images).
func (d *drainRig) removeImagesBut(keep string) {
	out, _ := d.ctrOut("image", "ls", "-q")
	for _, ref := range strings.Fields(out) {
		if ref != keep {
			d.ctr("image", "rm", ref)
		}
	}
}
