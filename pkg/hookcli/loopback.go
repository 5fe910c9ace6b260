package hookcli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/arch-ckpt/arch/pkg/loopback"
)

func init() {
	register("loopback", "OCI createRuntime hook of a restore: bring up lo in the network namespace runc created", runLoopback)
}

// runLoopback runs when runc restores a container whose network namespace
// runc creates: runc restore leaves its lo down, where a fresh create has
// it up. It fails (and with it the restore, which then falls back to a
// fresh create) only when lo cannot be brought up: a restored process
// without loopback would not be what it was.
func runLoopback(e *env, args []string) int {
	fs := newFlags(e, "loopback", "[--config PATH] < OCI state")
	cfgPath := fs.String("config", "", "ARCH configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, _ := e.loadConfig(*cfgPath)
	log, done := openLog(cfg, "hook")
	defer done()
	var st struct {
		ID  string `json:"id"`
		Pid int    `json:"pid"`
	}
	data, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		log.Error().Err(err).Msg("loopback: cannot read the OCI state")
		fmt.Fprintf(e.stderr, "arch-hook loopback: OCI state: %v\n", err)
		return 1
	}
	log = log.With().Str("hook", "loopback").Str("id", st.ID).Int("pid", st.Pid).Logger()
	changed, err := loopback.Up(st.Pid)
	if err != nil {
		log.Error().Err(err).Msg("loopback: cannot bring lo up")
		fmt.Fprintf(e.stderr, "arch-hook loopback: %v\n", err)
		return 1
	}
	log.Info().Bool("changed", changed).Msg("loopback: lo is up")
	return 0
}
