package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/arch-ckpt/arch/pkg/layer"
)

// fingerprint measures what the image fingerprint costs ARCH at a
// checkpoint and at a restore, for a container whose image has -files
// files: ARCH's own phases (from its log) against the walk of the layers
// that every checkpoint and restore used to pay (the baseline, measured in
// the same run). The first round finds the node's layer-digest cache empty
// (the walk then runs beside the dump and the unpack); the later ones find
// it filled, which is the case for every container but the first of an
// image on a node.
func fingerprint(args []string) error {
	fs := flag.NewFlagSet("fingerprint", flag.ExitOnError)
	e := commonFlags(fs)
	files := fs.Int("files", 10000, "files in the image")
	runs := fs.Int("runs", 5, "rounds")
	mib := fs.Int("mib", 16, "touched memory of the workload")
	fs.Parse(args)
	work, lower, cleanup, err := workImage(e.work)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := addFiles(lower, *files); err != nil {
		return err
	}
	var walks []time.Duration
	for range max(*runs, 3) {
		t0 := time.Now()
		if _, err := layer.LegacyIdentity([]string{lower}); err != nil {
			return err
		}
		walks = append(walks, time.Since(t0))
	}
	b := newBench(e, work, lower, "none", []string{"/memtouch", fmt.Sprint(*mib), "random"})
	// The first restore, too, finds the cache empty, as on a node that
	// has never run the image: another node checkpointed it.
	cache := layer.StateCache(filepath.Join(work, "state"))
	os.RemoveAll(cache.Dir)
	b.beforeRestore = func(round int) {
		if round == 0 {
			os.RemoveAll(cache.Dir)
		}
	}
	var atCkpt, atRestore []time.Duration
	for i := 0; i < *runs; i++ {
		if _, err := b.round(i); err != nil {
			return err
		}
		ck, rs := fingerprintPhases(b.archLog)
		atCkpt, atRestore = append(atCkpt, ck), append(atRestore, rs)
		fmt.Fprintf(os.Stderr, "bench: fingerprint round %d: checkpoint %v, restore %v\n", i, ck, rs)
	}
	header()
	walk := median(walks)
	what := fmt.Sprintf("%dk files", *files/1000)
	row("fingerprint at checkpoint, "+what+", new layer (vs walk)", atCkpt[0], walk, "")
	row("fingerprint at checkpoint, "+what+", known layer", median(atCkpt[1:]), walk, "<= 5 ms")
	row("fingerprint at restore, "+what+", new layer (vs walk)", atRestore[0], walk, "")
	row("fingerprint at restore, "+what+", known layer", median(atRestore[1:]), walk, "<= 5 ms")
	return nil
}

// addFiles adds n small files to the image, 100 to a folder, as a real
// image's /usr has them.
func addFiles(lower string, n int) error {
	for i := 0; i < n; i++ {
		dir := filepath.Join(lower, "usr", "share", fmt.Sprintf("d%03d", i/100))
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fingerprintPhases reads from ARCH's log what the last checkpoint and the
// last restore spent on the image's fingerprint: the checkpoint's "meta"
// phase (the fingerprint joined, metadata gathered), and the restore's
// "fit" and "layers" phases (process checks; the fingerprint joined after
// the unpack).
func fingerprintPhases(archLog string) (ckpt, restore time.Duration) {
	eachLogLine(archLog, func(m map[string]any) {
		ph, _ := m["phases"].(map[string]any)
		switch m["msg"] {
		case "checkpoint committed, container stopped":
			ckpt = ms(ph["meta"])
		case "create turned into restore":
			restore = ms(ph["fit"]) + ms(ph["layers"])
		}
	})
	return ckpt, restore
}
