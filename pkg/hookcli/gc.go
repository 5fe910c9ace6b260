package hookcli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/ckpt"
)

func init() {
	register("gc", "remove stale and incomplete checkpoint images from a store", runGC)
}

// GCReport is `arch-hook gc --json`'s output.
type GCReport struct {
	Store            string `json:"store"`
	OlderThan        string `json:"olderThan"`
	OlderThanSeconds int64  `json:"olderThanSeconds"`
	DryRun           bool   `json:"dryRun"`
	// Removed is what was removed, or in a dry run what would be.
	Removed    []GCItem `json:"removed"`
	Skipped    []GCItem `json:"skipped"`
	Failed     []GCItem `json:"failed"`
	FreedBytes int64    `json:"freedBytes"` // with dryRun: would be freed
	Freed      string   `json:"freed"`
}

// GCItem is one removal, skip or failure.
type GCItem struct {
	Key    string `json:"key"`    // the key the folder stands for (display form)
	Folder string `json:"folder"` // key folder name in the store
	What   string `json:"what"`   // "image", "key folder" or a file name
	Path   string `json:"path"`
	Reason string `json:"reason"`
	Size   int64  `json:"size"`
	Error  string `json:"error,omitempty"`
}

// runGC removes what ckpt.GC finds stale. Busy keys (a commit or restore
// holds their lock) are skipped and reported; the exit status is 1 when a
// removal failed or the store cannot be read.
func runGC(e *env, args []string) int {
	fs := newFlags(e, "gc", "--older-than DUR [--dry-run] [--store PATH] [--json] [--config PATH]")
	olderThan := fs.String("older-than", "", "remove images checkpointed longer ago than this (90m, 36h, 7d; 0: only incomplete images and leftovers)")
	dryRun := fs.Bool("dry-run", false, "only say what would be removed")
	storePath := fs.String("store", "", "checkpoint store (default: the configuration's store)")
	asJSON := fs.Bool("json", false, "print JSON")
	cfgPath := fs.String("config", "", "ARCH configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || *olderThan == "" {
		if *olderThan == "" {
			fmt.Fprintln(e.stderr, "arch-hook gc: --older-than is required (0 removes only incomplete images and leftovers)")
		}
		fs.Usage()
		return 2
	}
	age, err := parseAge(*olderThan)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook gc: --older-than: %v\n", err)
		return 2
	}
	store, ok := openStore(e, *cfgPath, *storePath, false)
	if !ok {
		return 1
	}
	cfg, _ := e.loadConfig(*cfgPath)
	log, done := openLog(cfg, "gc")
	defer done()
	removals, gcErr := store.GC(context.Background(), age, *dryRun)
	rep := gcReport(store.Root(), age, *dryRun, removals)
	if !*dryRun {
		logGC(log, rep)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printGC(e.stdout, rep)
	}
	if gcErr != nil {
		fmt.Fprintf(e.stderr, "arch-hook gc: %v\n", gcErr)
		return 1
	}
	return 0
}

// gcReport sorts the removals of ckpt.GC into removed, skipped and failed.
func gcReport(root string, age time.Duration, dryRun bool, removals []ckpt.Removal) *GCReport {
	rep := &GCReport{Store: root, OlderThan: formatAge(age), OlderThanSeconds: int64(age / time.Second), DryRun: dryRun,
		Removed: []GCItem{}, Skipped: []GCItem{}, Failed: []GCItem{}}
	for _, r := range removals {
		it := GCItem{Key: keyOfFolder(r.Folder), Folder: r.Folder, What: what(root, r), Path: r.Path, Reason: r.Reason, Size: r.Size}
		switch {
		case r.Err != nil:
			it.Error = r.Err.Error()
			rep.Failed = append(rep.Failed, it)
		case r.Skipped:
			rep.Skipped = append(rep.Skipped, it)
		default:
			rep.Removed = append(rep.Removed, it)
			rep.FreedBytes += r.Size
		}
	}
	rep.Freed = humanBytes(rep.FreedBytes)
	return rep
}

// what names a removal inside its key folder.
func what(root string, r ckpt.Removal) string {
	rel, err := filepath.Rel(filepath.Join(root, r.Folder), r.Path)
	switch {
	case err != nil:
		return safeText(r.Path)
	case rel == ".":
		return "key folder"
	case rel == "manifest.json":
		return "image"
	}
	return safeText(rel)
}

// printGC writes the report as an aligned table and a summary line.
func printGC(w io.Writer, rep *GCReport) {
	fmt.Fprintf(w, "store: %s\n", rep.Store)
	if rep.OlderThanSeconds > 0 {
		fmt.Fprintf(w, "removing: images checkpointed more than %s ago, incomplete images, leftovers\n", rep.OlderThan)
	} else {
		fmt.Fprintln(w, "removing: incomplete images and leftovers (no image is removed for its age)")
	}
	removed := "removed"
	if rep.DryRun {
		removed = "would remove"
		fmt.Fprintln(w, "dry run: nothing is removed")
	}
	if len(rep.Removed)+len(rep.Skipped)+len(rep.Failed) == 0 {
		fmt.Fprintln(w, "nothing to do")
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tKEY\tWHAT\tSIZE\tREASON")
	row := func(action string, it GCItem) {
		size := "-"
		if it.Size > 0 {
			size = humanBytes(it.Size)
		}
		reason := it.Reason
		if it.Error != "" {
			reason += ": " + it.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", action, it.Key, it.What, size, reason)
	}
	for _, it := range rep.Removed {
		row(removed, it)
	}
	for _, it := range rep.Skipped {
		row("skipped", it)
	}
	for _, it := range rep.Failed {
		row("FAILED", it)
	}
	tw.Flush()
	freed := "freed"
	if rep.DryRun {
		freed = "would free"
	}
	fmt.Fprintf(w, "\n%s %s (%d bytes) in %d removals; %d skipped; %d failed\n",
		freed, rep.Freed, rep.FreedBytes, len(rep.Removed), len(rep.Skipped), len(rep.Failed))
}

// logGC records in ARCH's log what gc removed and what failed.
func logGC(log zerolog.Logger, rep *GCReport) {
	for _, it := range rep.Removed {
		log.Info().Str("path", it.Path).Str("reason", it.Reason).Int64("bytes", it.Size).Msg("gc: removed")
	}
	for _, it := range rep.Failed {
		log.Warn().Str("path", it.Path).Str("reason", it.Reason).Str("error", it.Error).Msg("gc: removal failed")
	}
	log.Info().Str("store", rep.Store).Str("olderThan", rep.OlderThan).Int("removed", len(rep.Removed)).
		Int("skipped", len(rep.Skipped)).Int("failed", len(rep.Failed)).Int64("freedBytes", rep.FreedBytes).Msg("gc done")
}
