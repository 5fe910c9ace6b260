package drain

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/saferoot"
)

// Containerd finds and checkpoints containers through a containerd daemon
// (containerd's Go client; containerd 1.6 and later answer it).
type Containerd struct {
	client *containerd.Client
	// StagingDir holds the temporary --image-path folder of each
	// checkpoint. On the filesystem of arch-wrapper's staging_dir, the
	// wrapper fills it with hardlinks instead of copies.
	StagingDir string
	// PollEvery is how often a running checkpoint's archive size is read.
	PollEvery time.Duration
	// Timeout bounds one checkpoint's containerd calls (0 = none). Make it
	// longer than arch-wrapper's checkpoint_timeout, which bounds the work.
	Timeout time.Duration
	// Allowed places the targets' stores (read to follow and confirm their
	// checkpoints) below the node's allowed roots, as arch-wrapper does.
	Allowed saferoot.Allowed
	// Signer checks that the image a checkpoint left is one this node
	// signed (nil: images are not signed).
	Signer *ckpt.Signer
}

// Dial connects to containerd at address (a unix socket path).
func Dial(address, stagingDir string) (*Containerd, error) {
	// The client retries a missing socket until its timeout: say it at once.
	if _, err := os.Stat(strings.TrimPrefix(address, "unix://")); err != nil {
		return nil, fmt.Errorf("containerd socket: %w", err)
	}
	c, err := containerd.New(address, containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", address, err)
	}
	return &Containerd{client: c, StagingDir: stagingDir, PollEvery: 250 * time.Millisecond}, nil
}

// Close closes the connection.
func (c *Containerd) Close() error { return c.client.Close() }

// Candidates describes every container of the namespaces (all of them when
// only is empty), namespace by namespace.
func (c *Containerd) Candidates(ctx context.Context, only []string) ([]Candidate, error) {
	nss := only
	if len(nss) == 0 {
		var err error
		if nss, err = c.client.NamespaceService().List(ctx); err != nil {
			return nil, fmt.Errorf("list containerd namespaces: %w", err)
		}
	}
	var out []Candidate
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := c.client.Containers(nctx)
		if err != nil {
			return nil, fmt.Errorf("list containers of namespace %s: %w", ns, err)
		}
		for _, ctr := range ctrs {
			out = append(out, describe(nctx, ns, ctr))
		}
	}
	return out, nil
}

// describe reads what Classify needs of one container.
func describe(ctx context.Context, ns string, ctr containerd.Container) Candidate {
	cand := Candidate{Namespace: ns, ID: ctr.ID()}
	info, err := ctr.Info(ctx, containerd.WithoutRefreshedMetadata)
	if err != nil {
		cand.SpecErr = fmt.Errorf("container info: %w", err)
		return cand
	}
	cand.Runtime = info.Runtime.Name
	if info.Runtime.Options != nil {
		if v, err := typeurl.UnmarshalAny(info.Runtime.Options); err == nil {
			if o, ok := v.(*options.Options); ok {
				cand.RuncRoot = o.Root
			}
		}
	}
	if info.Spec == nil {
		cand.SpecErr = fmt.Errorf("containerd has no spec for it")
	} else {
		var s specs.Spec
		if err := json.Unmarshal(info.Spec.GetValue(), &s); err != nil {
			cand.SpecErr = fmt.Errorf("decode spec: %w", err)
		} else {
			cand.Spec = &s
		}
	}
	task, err := ctr.Task(ctx, nil)
	switch {
	case errdefs.IsNotFound(err):
		return cand
	case err != nil:
		cand.Task = fmt.Sprintf("unknown (%v)", err)
		return cand
	}
	st, err := task.Status(ctx)
	if err != nil {
		cand.Task = fmt.Sprintf("unknown (%v)", err)
		return cand
	}
	cand.Task = string(st.Status)
	cand.Pid = int(task.Pid())
	return cand
}
