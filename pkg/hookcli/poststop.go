package hookcli

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/bundle"
	"github.com/arch-ckpt/arch/pkg/ckpt"
)

func init() {
	register("poststop", "OCI poststop hook: forget the image a finished container was restored from", runPoststop)
}

// ociState is the state runc writes to a hook's stdin.
type ociState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

// runPoststop runs when runc deletes an enabled container. If the container
// was restored from an image and finished on its own (not stopped by an
// ARCH checkpoint, nor by a caller's kill or forced delete), that image has
// served its purpose: remove it, so that the next run of the workload
// starts fresh. It always exits 0: from runc 1.2 a
// failing poststop hook fails `runc delete`, and ARCH must never be the
// reason a container cannot be deleted.
func runPoststop(e *env, args []string) int {
	fs := newFlags(e, "poststop", "--record PATH [--config PATH] < OCI state")
	recordPath := fs.String("record", "", "the container's ARCH record")
	cfgPath := fs.String("config", "", "ARCH configuration file")
	if err := fs.Parse(args); err != nil {
		return 0
	}
	cfg, _ := e.loadConfig(*cfgPath)
	log, done := openLog(cfg, "hook")
	defer done()
	var st ociState
	if data, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20)); err == nil {
		json.Unmarshal(data, &st)
	}
	log = log.With().Str("hook", "poststop").Str("id", st.ID).Logger()
	rec, err := bundle.LoadRecordFile(*recordPath)
	if errors.Is(err, bundle.ErrNoRecord) {
		log.Debug().Msg("no record: nothing to do")
		return 0
	}
	if err != nil {
		log.Warn().Err(err).Msg("unreadable record")
		return 0
	}
	log = log.With().Str("key", rec.Key).Logger()
	switch {
	case rec.CheckpointedImage != "":
		log.Info().Str("image", rec.CheckpointedImage).Msg("stopped by an ARCH checkpoint: image kept for the next create")
	case rec.RestoredFrom == "":
		log.Debug().Msg("container was not restored: nothing to remove")
	case rec.StopRequested:
		log.Info().Str("image", rec.RestoredFrom).Msg("stopped at the caller's request, not finished: image kept for the next create")
	default:
		key, err := ckpt.ParseKey(rec.Key)
		if err != nil {
			log.Warn().Err(err).Msg("bad key in record")
			return 0
		}
		store, err := archspec.OpenStore(cfg.Allowed(), rec.Store)
		if err != nil {
			log.Warn().Err(err).Msg("checkpoint store unusable")
			return 0
		}
		removed, err := store.RemoveIfCurrent(key, rec.RestoredFrom)
		if err != nil {
			log.Warn().Err(err).Msg("cannot remove the image the container was restored from")
			return 0
		}
		log.Info().Str("image", rec.RestoredFrom).Bool("removed", removed).Msg("container finished after a restore: image removed")
	}
	return 0
}
