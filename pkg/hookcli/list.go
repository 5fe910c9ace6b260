package hookcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/ckpt"
)

func init() {
	register("list", "list the checkpoint images of a store (status, size, age, leftovers)", runList)
}

// Checks List makes, as reported in the header.
const (
	checkFull = "full: the sha256 of every archive member (--verify)"
	checkSize = "presence and size of each archive only (--verify checks every sha256)"
)

// ListReport is `arch-hook list --json`'s output.
type ListReport struct {
	Store string `json:"store"`
	// Exists is false when the store folder does not exist (no images).
	Exists   bool        `json:"exists"`
	Verified bool        `json:"verified"`
	Check    string      `json:"check"`
	Images   []ListEntry `json:"images"`
}

// ListEntry is one key folder of the store.
type ListEntry struct {
	Key            string             `json:"key,omitempty"` // empty when the folder is not a key's
	Folder         string             `json:"folder"`
	ImageID        string             `json:"imageID,omitempty"`
	Size           int64              `json:"size"`
	SizeHuman      string             `json:"sizeHuman"`
	CheckpointedAt time.Time          `json:"checkpointedAt,omitzero"`
	AgeSeconds     int64              `json:"ageSeconds,omitempty"`
	Age            string             `json:"age,omitempty"`
	Status         ckpt.Status        `json:"status"`
	Valid          bool               `json:"valid"` // complete or restored, by the check of the header
	Restored       *ckpt.RestoredInfo `json:"restored,omitempty"`
	Leftovers      []string           `json:"leftovers,omitempty"`
	Problem        string             `json:"problem,omitempty"`
}

// runList prints the images of a store. Corrupt images are reported, not
// errors: the exit status is 1 only when the store cannot be read.
func runList(e *env, args []string) int {
	fs := newFlags(e, "list", "[--store PATH] [--verify] [--json] [--config PATH]")
	storePath := fs.String("store", "", "checkpoint store (default: the configuration's store)")
	verify := fs.Bool("verify", false, "read every image in full and check every sha256")
	asJSON := fs.Bool("json", false, "print JSON")
	cfgPath := fs.String("config", "", "ARCH configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	store, ok := openStore(e, *cfgPath, *storePath, true)
	if !ok {
		return 1
	}
	rep, err := listStore(context.Background(), store, *verify, time.Now())
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook: list %s: %v\n", store.Root(), err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(e.stderr, "arch-hook: %v\n", err)
			return 1
		}
		return 0
	}
	printList(e.stdout, rep)
	return 0
}

// openStore opens the store named by --store, else the configuration's,
// checking signatures (list) with the configuration's key when signed. A
// configuration with errors is a warning: the defaults and whatever was
// read stand.
func openStore(e *env, cfgPath, storePath string, signed bool) (*ckpt.Store, bool) {
	cfg, err := e.loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook: warning: %v\n", err)
	}
	if storePath == "" {
		storePath = cfg.Store
	}
	store, err := ckpt.New(storePath)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook: %v\n", err)
		return nil, false
	}
	if !signed {
		return store, true
	}
	signer, err := archspec.Signer(cfg.ImageHMACKeyFile)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook: %v\n", err)
		return nil, false
	}
	return store.SignWith(signer), true
}

// listStore describes every key folder of store.
func listStore(ctx context.Context, store *ckpt.Store, verify bool, now time.Time) (*ListReport, error) {
	rep := &ListReport{Store: store.Root(), Verified: verify, Check: checkSize, Images: []ListEntry{}}
	if verify {
		rep.Check = checkFull
	}
	st, err := os.Stat(store.Root())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return rep, nil
	case err != nil:
		return nil, fmt.Errorf("checkpoint store: %w", err)
	case !st.IsDir():
		return nil, fmt.Errorf("checkpoint store %s is not a folder", store.Root())
	}
	rep.Exists = true
	entries, err := store.List(ctx, verify)
	if err != nil {
		return nil, err
	}
	for _, en := range entries {
		le := ListEntry{
			Folder: en.Folder, ImageID: en.ImageID, Size: en.Size, SizeHuman: humanBytes(en.Size),
			CheckpointedAt: en.CheckpointedAt, Status: en.Status, Restored: en.Restored, Leftovers: en.Leftovers,
			Valid: en.Status == ckpt.StatusComplete || en.Status == ckpt.StatusRestored,
		}
		if !en.Key.IsZero() {
			le.Key = en.Key.String()
		}
		if !en.CheckpointedAt.IsZero() {
			age := now.Sub(en.CheckpointedAt)
			le.AgeSeconds, le.Age = int64(age/time.Second), humanAge(age)
		}
		if en.Err != nil {
			le.Problem = en.Err.Error()
		}
		rep.Images = append(rep.Images, le)
	}
	return rep, nil
}

// printList writes the report as an aligned table, problems below it.
func printList(w io.Writer, rep *ListReport) {
	fmt.Fprintf(w, "store: %s\ncheck: %s\n", rep.Store, rep.Check)
	if !rep.Exists {
		fmt.Fprintln(w, "no images (the store folder does not exist)")
		return
	}
	if len(rep.Images) == 0 {
		fmt.Fprintln(w, "no images")
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tIMAGE\tSIZE\tAGE\tSTATUS\tVALID\tLEFTOVERS")
	yes := map[bool]string{true: "yes", false: "NO"}
	var problems []string
	for _, im := range rep.Images {
		label := im.Key
		if label == "" {
			label = "?" + safeText(im.Folder)
		}
		size := "-"
		if im.ImageID != "" {
			size = im.SizeHuman
		}
		leftovers := "-"
		if n := len(im.Leftovers); n > 0 {
			leftovers = fmt.Sprint(n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", label, orDash(im.ImageID), size, orDash(im.Age), im.Status, yes[im.Valid], leftovers)
		if im.Problem != "" {
			problems = append(problems, fmt.Sprintf("  %s: %s", label, im.Problem))
		}
		if len(im.Leftovers) > 0 && im.ImageID != "" {
			problems = append(problems, fmt.Sprintf("  %s: leftovers (arch-hook gc removes them): %s", label, strings.Join(quoteAll(im.Leftovers), ", ")))
		}
	}
	tw.Flush()
	if len(problems) > 0 {
		fmt.Fprintf(w, "\nnotes:\n%s\n", strings.Join(problems, "\n"))
	}
	fmt.Fprintf(w, "\n%s\n", summary(rep))
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = safeText(n)
	}
	return out
}

// summary counts the images by status and adds up their sizes.
func summary(rep *ListReport) string {
	count := map[ckpt.Status]int{}
	var total int64
	for _, im := range rep.Images {
		count[im.Status]++
		total += im.Size
	}
	var parts []string
	for _, s := range []ckpt.Status{ckpt.StatusComplete, ckpt.StatusRestored, ckpt.StatusIncomplete, ckpt.StatusCorrupt} {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	return fmt.Sprintf("%d key folders: %s; %s in archives", len(rep.Images), strings.Join(parts, ", "), humanBytes(total))
}
