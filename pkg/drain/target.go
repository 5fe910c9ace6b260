package drain

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/saferoot"
	"github.com/arch-ckpt/arch/pkg/state"
)

// Task statuses (containerd's, lower case).
const (
	TaskRunning = "running"
	TaskPaused  = "paused"
)

// RuncV2 is the only runtime whose checkpoint options checkpoint-all sets
// (containerd's runc shim; Docker and the CRI plugin use it too).
const RuncV2 = "io.containerd.runc.v2"

// DefaultRuncRoot is the runc root of containerd's runc shim when the
// container's runtime options name none; the shim appends the namespace.
const DefaultRuncRoot = "/run/containerd/runc"

// Candidate is what containerd says about one container.
type Candidate struct {
	Namespace string
	ID        string
	Runtime   string // runtime name, e.g. io.containerd.runc.v2
	RuncRoot  string // runtime options' root ("" = DefaultRuncRoot)
	Spec      *specs.Spec
	SpecErr   error  // the spec could not be read
	Task      string // task status; "" when the container has no task
	Pid       int    // the task's init process (host PID namespace); 0 when unknown
}

// Target is a container checkpoint-all looked at: Skip is empty for those
// it checkpoints, and says why for the others.
type Target struct {
	Namespace string
	ID        string
	Task      string
	Key       string
	Store     string
	Skip      string
	Pid       int // the task's init process; 0 when unknown
}

// Name is "namespace/id".
func (t Target) Name() string { return t.Namespace + "/" + t.ID }

// Node is what Classify needs of the node configuration.
type Node struct {
	Allowed  saferoot.Allowed // the configuration's store and allowed_roots
	StateDir string           // the configuration's state_dir (arch-wrapper's records)
}

// Classify decides whether c is checkpointed, with the wrapper's rules:
// archspec.Decide on its spec (enabled, usable key), a running or paused
// task of containerd's runc shim, and a record of arch-wrapper for it. The
// record matters: a container that opted in but was not created through
// arch-wrapper (installed later, another runtime binary) would be dumped
// by plain runc into a folder nobody keeps, and stopped. Key and store are
// the record's, where the wrapper will commit the image.
func Classify(c Candidate, n Node) Target {
	t := Target{Namespace: c.Namespace, ID: c.ID, Task: c.Task, Pid: c.Pid}
	if c.SpecErr != nil || c.Spec == nil {
		t.Skip = fmt.Sprintf("cannot read its OCI spec: %v", c.SpecErr)
		return t
	}
	d := archspec.Decide(c.Spec, c.Namespace, c.ID, n.Allowed)
	t.Key, t.Store = d.Key, d.Store
	switch {
	case !d.Enabled:
		t.Skip = "not enabled: " + d.Why
		return t
	case d.Problem != "":
		t.Skip = "enabled but ARCH cannot serve it: " + d.Problem
		return t
	case c.Task == "":
		t.Skip = "no task"
		return t
	case c.Task != TaskRunning && c.Task != TaskPaused:
		t.Skip = "task " + c.Task
		return t
	case c.Runtime != RuncV2:
		t.Skip = fmt.Sprintf("runtime %s: only %s is supported", c.Runtime, RuncV2)
		return t
	}
	root := c.RuncRoot
	if root == "" {
		root = DefaultRuncRoot
	}
	root = filepath.Join(root, c.Namespace)
	rec, err := state.NodeRecords(n.StateDir).Load(root, c.ID)
	switch {
	case errors.Is(err, state.ErrNoRecord):
		t.Skip = fmt.Sprintf("enabled, but arch-wrapper has no record of it under %s (not created through arch-wrapper?): a checkpoint would stop it without an ARCH image", n.StateDir)
	case err != nil:
		t.Skip = fmt.Sprintf("enabled, but its ARCH record is unreadable: %v", err)
	default:
		t.Key, t.Store = rec.Key, rec.Store
	}
	return t
}

// sortTargets orders targets by namespace, then id: the order of the
// results, whatever order the checkpoints finish in.
func sortTargets(ts []Target) {
	slices.SortFunc(ts, func(a, b Target) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
