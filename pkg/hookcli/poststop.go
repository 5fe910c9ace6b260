package hookcli

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/arch-ckpt/arch/pkg/state"
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
// ARCH checkpoint, nor by a caller's kill or forced delete), its exit
// status decides (exit-watch): 0, the image has served its purpose and is
// removed, so that the next run of the workload starts fresh; anything
// else, it stays for another restore. It always exits 0: from runc 1.2 a
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
	rec, err := state.LoadRecordFile(*recordPath)
	if errors.Is(err, state.ErrNoRecord) {
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
		// Finished on its own: its exit status, which only containerd
		// knows, says whether it is done (0) or failed (kept for another
		// restore). containerd tells it after this hook: a watch waits.
		if err := startExitWatch(cfg, *cfgPath, rec); err != nil {
			log.Warn().Err(err).Str("image", rec.RestoredFrom).Msg("exit status unknown: image kept for the next create")
			return 0
		}
		log.Debug().Str("image", rec.RestoredFrom).Msg("container finished after a restore: waiting for its exit status")
	}
	return 0
}
