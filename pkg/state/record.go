// Package state is what ARCH keeps about the containers of a node between
// runc calls: one record per enabled container (record.go), the markers
// the C fast path reads (marker.go), and the container's locks (locks.go,
// on pkg/flock). It lives in ARCH's state folder (state_dir, on tmpfs):
// it is about containers that run on this node, never about images.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arch-ckpt/arch/pkg/atomicfile"
)

// Record is what ARCH remembers about an enabled container between runc
// calls. Later calls carry only the container id; the record is keyed by the
// runc root and the id, exactly as runc's own state is, so two containerd
// namespaces (or two containerd instances) never mix.
type Record struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"`
	Root      string    `json:"root"`
	Namespace string    `json:"namespace"`
	Bundle    string    `json:"bundle"`
	Key       string    `json:"key"`
	Store     string    `json:"store"`
	CreatedAt time.Time `json:"createdAt"`

	// RestoredFrom is the image id this container was restored from.
	RestoredFrom string `json:"restoredFrom,omitempty"`
	// SkipStart: the create was turned into a restore, so the process is
	// already running and the shim's next `start` must succeed without runc.
	SkipStart bool `json:"skipStart,omitempty"`
	// SkipResume: ARCH checkpointed and stopped the container; the caller's
	// `resume` that follows must succeed without runc.
	SkipResume bool `json:"skipResume,omitempty"`
	// CheckpointedImage is the image an ARCH checkpoint committed before it
	// stopped the container: the poststop hook must keep it.
	CheckpointedImage string `json:"checkpointedImage,omitempty"`
	// StopRequested: the caller asked the container to stop (a terminating
	// `runc kill`, or `delete --force` of a live one): it did not finish on
	// its own, so the poststop hook keeps the image it was restored from.
	StopRequested bool `json:"stopRequested,omitempty"`
	// Checkpoint is the container's last ARCH checkpoint (checkpoint.go):
	// while it is in flight, a wrapper that dies leaves it for the next
	// ARCH call on the container to settle.
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	// Checkpointing is the in-flight checkpoint as ARCH 0.x recorded it,
	// read from a record written before an upgrade (see upgradeRecord).
	Checkpointing *legacyInFlight `json:"checkpointing,omitempty"`
}

// legacyInFlight is a checkpoint in flight as records before the
// checkpoint state machine stored it.
type legacyInFlight struct {
	Started     time.Time `json:"started"`
	ImageID     string    `json:"imageID,omitempty"`
	LeftStopped bool      `json:"leftStopped,omitempty"`
	Froze       bool      `json:"froze,omitempty"`
}

// upgradeRecord turns a legacy in-flight checkpoint into its state:
// committed when it had an image, dumped otherwise (the settling then
// looks for an image the old wrapper committed without recording it).
func upgradeRecord(rec *Record) {
	old := rec.Checkpointing
	if old == nil {
		return
	}
	rec.Checkpointing = nil
	if rec.Checkpoint.InFlight() {
		return
	}
	st := CheckpointDumped
	if old.ImageID != "" {
		st = CheckpointCommitted
	}
	rec.Checkpoint = &Checkpoint{State: st, Started: old.Started, Changed: old.Started, ImageID: old.ImageID, LeftStopped: old.LeftStopped, Froze: old.Froze}
}

// RecordVersion is the current record format.
const RecordVersion = 1

// ErrNoRecord means ARCH has no record of the container: it is not enabled
// (or was created before ARCH was installed) and calls pass through.
var ErrNoRecord = errors.New("no ARCH record for container")

// ErrBadID is returned for container ids runc itself would reject.
var ErrBadID = errors.New("invalid container id")

// Records stores one small JSON file per enabled container.
type Records struct {
	Dir string // e.g. /run/arch/containers
}

// NodeRecords are the records in ARCH's state folder (state_dir).
func NodeRecords(stateDir string) Records {
	return Records{Dir: filepath.Join(stateDir, "containers")}
}

// ValidID reports whether id is one runc accepts (^[\w+-\.]+$), which also
// guarantees it is a single safe path element.
func ValidID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 1024 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func truncateID(id string) string {
	if len(id) <= 64 {
		return id
	}
	return id[:64] + "..."
}

// Path is the record file of a container.
func (r Records) Path(root, id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("%w %q", ErrBadID, truncateID(id))
	}
	sum := sha256.Sum256([]byte(filepath.Clean(root)))
	return filepath.Join(r.Dir, hex.EncodeToString(sum[:8]), id+".json"), nil
}

// Load reads a record; ErrNoRecord when there is none.
func (r Records) Load(root, id string) (*Record, error) {
	p, err := r.Path(root, id)
	if err != nil {
		return nil, err
	}
	return LoadRecordFile(p)
}

// LoadRecordFile reads the record at p (the hook is given this path).
func LoadRecordFile(p string) (*Record, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("read record %s: %w", p, err)
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("parse record %s: %w", p, err)
	}
	if rec.Version != RecordVersion {
		return nil, fmt.Errorf("record %s: unknown version %d", p, rec.Version)
	}
	upgradeRecord(&rec)
	return &rec, nil
}

// Save writes a record atomically.
func (r Records) Save(rec *Record) error {
	p, err := r.Path(rec.Root, rec.ID)
	if err != nil {
		return err
	}
	return SaveRecordFile(p, rec)
}

// SaveInterim writes a record atomically but without fsync: for the
// steps of a checkpoint between its start and its end. What reads them is
// the settling of a checkpoint whose wrapper died while the machine runs
// (pkg/wrapper/settle.go), which the page cache serves; after a crash of
// the machine no container is alive, and the settling keeps whatever the
// store holds whatever step the record names. Each save is two fsyncs
// fewer: about 25 ms of a small container's checkpoint in a node drain.
func (r Records) SaveInterim(rec *Record) error {
	p, err := r.Path(rec.Root, rec.ID)
	if err != nil {
		return err
	}
	return saveRecord(p, rec, atomicfile.WriteInterim)
}

// SaveRecordFile writes the record at p atomically.
func SaveRecordFile(p string, rec *Record) error {
	return saveRecord(p, rec, atomicfile.WriteFile)
}

func saveRecord(p string, rec *Record, write func(string, []byte, os.FileMode) error) error {
	rec.Version = RecordVersion
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create record folder: %w", err)
	}
	return write(p, data, 0o600)
}

// Remove deletes a record, and with it the container's CRIU configuration
// file and enabled marker (its locks go with RemoveLocks); a missing record is not an error (and costs one
// failed unlink: create calls this for every non-enabled container).
func (r Records) Remove(root, id string) error {
	p, err := r.Path(root, id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("remove record: %w", err)
	}
	os.Remove(CriuConfigFile(p))
	r.UnmarkEnabled(id)
	return nil
}

// CriuConfigFile is the CRIU configuration file of the container whose
// record is at recordPath (see pkg/archspec): beside the record, and
// removed with it.
func CriuConfigFile(recordPath string) string {
	return strings.TrimSuffix(recordPath, ".json") + ".criu.conf"
}
