package hookcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/layer"
	"github.com/arch-ckpt/arch/pkg/state"
)

func init() {
	register("explain", "tell what ARCH will do with a container (bundle folder or config.json)", runExplain)
}

// Explanation is `arch-hook explain --json`'s output.
type Explanation struct {
	Bundle    string             `json:"bundle"`
	Namespace string             `json:"namespace"`
	ID        string             `json:"id"`
	Decision  *archspec.Decision `json:"decision"`
	// AllowedRoots are the node's allowed_roots: the host folders below
	// which a container's environment may name its store or shared root.
	AllowedRoots []string `json:"allowedRoots"`
	// Signed: images must carry a valid image_hmac_key_file signature.
	Signed   bool         `json:"signed"`
	Image    *ImageReport `json:"image,omitempty"`
	AtCreate string       `json:"atCreate"`
	Injects  []string     `json:"injects,omitempty"`
	// Containers is what ARCH's records on this node say of the container
	// (one per runc root that has it; none before its create).
	Containers []ContainerReport `json:"containers,omitempty"`
}

// ContainerReport is ARCH's record of a created container: its phase and
// its last checkpoint (pkg/state).
type ContainerReport struct {
	Root       string            `json:"root"`
	Phase      state.Phase       `json:"phase"`
	Checkpoint *state.Checkpoint `json:"checkpoint,omitempty"`
}

// ImageReport describes the store's image for the container's key.
type ImageReport struct {
	Exists         bool      `json:"exists"`
	ImageID        string    `json:"imageID,omitempty"`
	Size           int64     `json:"size,omitempty"`
	CheckpointedAt time.Time `json:"checkpointedAt,omitzero"`
	Restored       bool      `json:"restored,omitempty"`
	Valid          bool      `json:"valid"`
	Problem        string    `json:"problem,omitempty"`
	Fits           bool      `json:"fits"`
	Mismatch       string    `json:"mismatch,omitempty"`
	// NotReused says why an image restored before is not restored again.
	NotReused string `json:"notReused,omitempty"`
	// Restores counts the restores of the image so far.
	Restores int `json:"restores,omitempty"`
}

func runExplain(e *env, args []string) int {
	fs := newFlags(e, "explain", "[--json] [--namespace NS] [--id ID] [--config PATH] BUNDLE|CONFIG.JSON")
	asJSON := fs.Bool("json", false, "print JSON")
	ns := fs.String("namespace", "", "containerd namespace (default: guessed from a containerd bundle path, else \"default\")")
	id := fs.String("id", "", "container id (default: the bundle folder's name)")
	cfgPath := fs.String("config", "", "ARCH configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, cfgErr := e.loadConfig(*cfgPath)
	if cfgErr != nil {
		fmt.Fprintf(e.stderr, "arch-hook: warning: %v\n", cfgErr)
	}
	dir := fs.Arg(0)
	if filepath.Base(dir) == bundle.ConfigName {
		dir = filepath.Dir(dir)
	}
	b, err := bundle.Load(dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "arch-hook: %v\n", err)
		return 1
	}
	gns, gid := guessNamespaceID(b.Dir)
	if *ns == "" {
		*ns = gns
	}
	if *id == "" {
		*id = gid
	}
	x := explain(context.Background(), b, *ns, *id, cfg, hookPathFor(cfg.Hook))
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(x)
		return 0
	}
	printExplanation(e.stdout, x)
	return 0
}

// guessNamespaceID reads containerd's bundle path convention
// (.../io.containerd.runtime.v2.task/<namespace>/<id>).
func guessNamespaceID(dir string) (string, string) {
	id := filepath.Base(dir)
	parent := filepath.Dir(dir)
	if strings.HasPrefix(filepath.Base(filepath.Dir(parent)), "io.containerd.runtime.") {
		return filepath.Base(parent), id
	}
	return "default", id
}

func hookPathFor(configured string) string {
	if configured != "" {
		return configured
	}
	self, err := os.Executable()
	if err != nil {
		return "arch-hook"
	}
	return self
}

func explain(ctx context.Context, b *bundle.Bundle, ns, id string, cfg config.Config, hookPath string) *Explanation {
	allowed := cfg.Allowed()
	x := &Explanation{Bundle: b.Dir, Namespace: ns, ID: id, AllowedRoots: allowed.Roots, Signed: cfg.ImageHMACKeyFile != ""}
	for _, rec := range state.NodeRecords(cfg.StateDir).Find(id, b.Dir) {
		ctr := state.Container{Root: rec.Root, ID: rec.ID, Record: rec}
		x.Containers = append(x.Containers, ContainerReport{Root: rec.Root, Phase: ctr.Phase(), Checkpoint: rec.Checkpoint})
	}
	d := archspec.Decide(b.Spec, ns, id, allowed)
	x.Decision = d
	if d.Usable() {
		if err := d.CheckPaths(); err != nil {
			d.Problem = err.Error()
		}
	}
	switch {
	case !d.Enabled:
		x.AtCreate = "pass through: plain runc create, ARCH does nothing"
		return x
	case !d.Usable():
		x.AtCreate = "pass through, without ARCH: " + d.Problem
		return x
	}
	plan, err := archspec.Make(b.Spec, d, archspec.Inputs{HookPath: hookPath, RecordPath: "<record>",
		CriuConfig: archspec.CriuConfigPath("<record>")})
	if err != nil {
		x.Injects = append(x.Injects, "nothing: "+err.Error())
	} else {
		x.Injects = describePlan(plan)
	}
	x.Image = inspectImage(ctx, b, d, cfg, layer.StateCache(cfg.StateDir))
	switch {
	case !x.Image.Exists:
		x.AtCreate = "create fresh (no checkpoint image for this key yet)"
	case !x.Image.Valid:
		x.AtCreate = "create fresh: the image does not validate: " + x.Image.Problem
	case !x.Image.Fits:
		x.AtCreate = "create fresh: " + x.Image.Mismatch
	case x.Image.NotReused != "":
		x.AtCreate = "create fresh: " + x.Image.NotReused
	default:
		x.AtCreate = "restore from image " + x.Image.ImageID
	}
	return x
}

func inspectImage(ctx context.Context, b *bundle.Bundle, d *archspec.Decision, cfg config.Config, cache *layer.DigestCache) *ImageReport {
	r := &ImageReport{}
	signer, err := archspec.Signer(cfg.ImageHMACKeyFile)
	if err != nil {
		r.Exists, r.Problem = true, "image_hmac_key_file: "+err.Error()
		return r
	}
	store := ckpt.Open(d.StoreLocation()).SignWith(signer)
	img, err := store.Current(d.ParsedKey())
	if errors.Is(err, ckpt.ErrNoImage) {
		return r
	}
	r.Exists = true
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	defer img.Close()
	m := img.Manifest
	r.ImageID, r.Size, r.CheckpointedAt, r.Restored = m.ImageID, m.Archive.Size, m.CheckpointedAt, img.Restored != nil
	if err := img.Verify(ctx); err != nil {
		r.Problem = err.Error()
		return r
	}
	r.Valid = true
	r.Mismatch = archspec.Mismatch(m, b, archspec.Identify(b, cache))
	if r.Mismatch == "" {
		r.Mismatch = archspec.NetworkMismatch(m, archCriuConfig(b, cfg.StateDir))
	}
	r.Fits = r.Mismatch == ""
	if img.Restored != nil {
		r.Restores = max(img.Restored.Attempts, 1)
	}
	r.NotReused, _ = archspec.ReuseRefusal(img.Restored, d.WorkDir != "", cfg.MaxRestoreAttempts, cfg.ReuseRestoredImages)
	return r
}

func describePlan(p *archspec.Plan) []string {
	var out []string
	for stage, hooks := range p.Hooks {
		for _, h := range hooks {
			out = append(out, fmt.Sprintf("%s hook: %s %s", stage, h.Path, strings.Join(h.Args[1:], " ")))
		}
	}
	for k, v := range p.Annotations {
		out = append(out, fmt.Sprintf("annotation: %s=%s", k, v))
	}
	if p.Mount != nil {
		out = append(out, fmt.Sprintf("bind mount: %s -> %s (%s)", p.Mount.Source, p.Mount.Destination, strings.Join(p.Mount.Options, ",")))
	}
	if p.Cwd != "" {
		out = append(out, "process cwd: "+p.Cwd)
	}
	return out
}

func printExplanation(w io.Writer, x *Explanation) {
	d := x.Decision
	fmt.Fprintf(w, "container:  %s (namespace %s)\nbundle:     %s\n", x.ID, x.Namespace, x.Bundle)
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(w, "enabled:    %s: %s\n", yes[d.Enabled], d.Why)
	if d.Problem != "" {
		fmt.Fprintf(w, "problem:    %s\n", d.Problem)
	}
	for _, warn := range d.Warnings {
		fmt.Fprintf(w, "warning:    %s\n", warn)
	}
	if d.Key != "" {
		fmt.Fprintf(w, "key:        %s (from %s)\n", d.Key, d.KeySource)
		fmt.Fprintf(w, "store:      %s (from %s)\n", d.Store, d.StoreSource)
	}
	if d.WorkDir != "" {
		fmt.Fprintf(w, "work dir:   %s\n", d.WorkDir)
	}
	if d.Enabled {
		roots := "none (arch.conf allowed_roots is not set: containers may name no host path)"
		if len(x.AllowedRoots) > 0 {
			roots = strings.Join(x.AllowedRoots, ", ")
		}
		fmt.Fprintf(w, "allowed:    %s\n", roots)
		if x.Signed {
			fmt.Fprintln(w, "signatures: required (image_hmac_key_file): an image without a valid one never restores")
		}
	}
	if img := x.Image; img != nil {
		switch {
		case !img.Exists:
			fmt.Fprintln(w, "image:      none")
		case img.ImageID == "":
			fmt.Fprintf(w, "image:      unusable: %s\n", img.Problem)
		default:
			state := "valid"
			if !img.Valid {
				state = "INVALID: " + img.Problem
			} else if !img.Fits {
				state = "valid, but does not fit: " + img.Mismatch
			}
			fmt.Fprintf(w, "image:      %s, %d bytes, checkpointed %s, restored: %s; %s\n",
				img.ImageID, img.Size, img.CheckpointedAt.Format(time.RFC3339), yes[img.Restored], state)
		}
	}
	for _, c := range x.Containers {
		fmt.Fprintf(w, "record:     runc root %s: %s\n", c.Root, c.Phase)
		if ck := c.Checkpoint; ck != nil {
			fmt.Fprintf(w, "checkpoint: %s since %s (started %s)", ck.State, ck.Changed.Format(time.RFC3339), ck.Started.Format(time.RFC3339))
			if ck.ImageID != "" {
				fmt.Fprintf(w, ", image %s", ck.ImageID)
			}
			if ck.Reason != "" {
				fmt.Fprintf(w, ": %s", ck.Reason)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "at create:  %s\n", x.AtCreate)
	for i, inj := range x.Injects {
		label := "injects:   "
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(w, "%s %s\n", label, inj)
	}
}

// archCriuConfig tells whether runc will hand CRIU ARCH's own configuration
// file for the container: the annotation ARCH set at its create, or, before
// that create, the one ARCH will set (unless the node has runc's own
// /etc/criu/runc.conf).
func archCriuConfig(b *bundle.Bundle, stateDir string) bool {
	ann, set := b.Spec.Annotations[archspec.AnnotationCriuConfig]
	if !set {
		return archspec.CriuConfigPath("probe") != ""
	}
	return strings.HasPrefix(ann, state.NodeRecords(stateDir).Dir+"/") && strings.HasSuffix(ann, ".criu.conf")
}
