package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/arch-ckpt/arch/internal/testbed"
)

// imageRefFile is the reference arch-wrapper gives a containerd caller's
// --image-path instead of the dump (pkg/wrapper/imageref.go).
const imageRefFile = "arch-image.json"

// archImageRef is the part of the reference the tests read.
type archImageRef struct {
	Key     string `json:"key"`
	ImageID string `json:"imageID"`
	Store   string `json:"store"`
}

// TestCtrCheckpointImageIsAReference: `ctr task checkpoint --exit` of an
// enabled counter leaves containerd a checkpoint image that holds only
// ARCH's reference to the image it committed, not a second copy of the
// dump. Restoring that checkpoint image (`ctr container restore`: the
// shim's own `runc restore --image-path` of the unpacked reference)
// restores ARCH's image, and the count goes on from the checkpoint. The
// restored container is checkpointed again the same way, and restored
// again from the second checkpoint image.
func TestCtrCheckpointImageIsAReference(t *testing.T) {
	n := newArchNode(t, "imgref", "", "")
	const id = "refc"
	key := ns + "/" + id
	n.run(t, testbed.CCounterRef, id, nil)
	mustCountAbove(t, n.Instance, id, 5)

	var prev string
	for round := 1; round <= 2; round++ {
		ref, err := n.TaskCheckpoint(ns, id, true)
		must(t, err)
		must(t, n.WaitStatus(ns, id, testbed.StatusStopped, statusTimeout))
		img := checkpointNamesARCHImage(t, n, ref, key)
		if img == prev {
			t.Fatalf("round %d: the checkpoint names image %s again", round, img)
		}
		prev = img
		at, err := n.ReadCountHost(ns, id)
		must(t, err)
		n.remove(t, id)

		must(t, n.RestoreTaskCheckpoint(ns, id, ref, n.wrapper))
		must(t, n.WaitStatus(ns, id, testbed.StatusRunning, statusTimeout))
		// A fresh start would count from 1.
		if c, err := n.ReadCount(ns, id); err != nil || c < at {
			t.Fatalf("round %d: count %d (%v) after the restore; it was %d at the checkpoint", round, c, err, at)
		}
		mustCountAbove(t, n.Instance, id, at+3)
		if got := strings.Count(n.archLog(), "restore served from ARCH's image reference"); got != round {
			t.Fatalf("round %d: ARCH served %d restores from a reference:\n%s", round, got, n.archLog())
		}
		// containerd 1.6 fails a checkpoint while an image holding the
		// same spec blob exists (internal/testbed/doc.go): not ARCH's.
		must(t, n.RemoveImages(ns, ref, ref+"-restorable"))
	}
	must(t, n.Cleanup(ns, id))
}

// checkpointNamesARCHImage checks that containerd's checkpoint image ref
// holds ARCH's reference alone, naming key's current image, and returns
// that image.
func checkpointNamesARCHImage(t *testing.T, n *archNode, ref, key string) string {
	t.Helper()
	files, err := n.CheckpointFiles(ns, ref)
	must(t, err)
	if !slices.Equal(files, []string{imageRefFile}) {
		t.Fatalf("checkpoint image %s holds %v; want only %s", ref, files, imageRefFile)
	}
	data, err := n.CheckpointFile(ns, ref, imageRefFile)
	must(t, err)
	return refNamesCurrentImage(t, n, data, key)
}

// refNamesCurrentImage checks that reference data names key's current
// image in the node's store, and returns that image.
func refNamesCurrentImage(t *testing.T, n *archNode, data []byte, key string) string {
	t.Helper()
	var r archImageRef
	must(t, json.Unmarshal(data, &r))
	m := manifest(t, n.arch.Store, key)
	if m == nil || r.Key != key || r.Store != n.arch.Store || r.ImageID != m["imageID"] {
		t.Fatalf("reference %s; the store's manifest of %s: %v", data, key, m)
	}
	return r.ImageID
}
