package hookcli

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/config"
	"github.com/arch-ckpt/arch/pkg/exitstatus"
	"github.com/arch-ckpt/arch/pkg/state"
)

func init() {
	register("exit-watch", "(started by poststop) wait for a restored container's exit status; keep or remove its image", runExitWatch)
}

// Bounds of the exit watch: the readiness its poststop hook waits for, and
// the wait for containerd's delete event (it comes right after the hook).
const (
	exitWatchReady   = 5 * time.Second
	exitWatchTimeout = time.Minute
)

// hookBinary is arch-hook's own path (tests, which run the hook in their
// own process, have no arch-hook to start).
var hookBinary = os.Executable

// startExitWatch starts `arch-hook exit-watch` for the container of rec
// (restored from an image, finished on its own) and returns once it is
// subscribed to containerd's events: the delete event it waits for comes
// after this hook has returned, so it must outlive the hook. It runs in
// its own session with no stdio of runc's: runc waits for the hook's
// pipes, not for it.
func startExitWatch(cfg config.Config, cfgPath string, rec *state.Record) error {
	self, err := hookBinary()
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	args := []string{"exit-watch", "--address", cfg.ContainerdAddress, "--namespace", rec.Namespace,
		"--id", rec.ID, "--key", rec.Key, "--store", rec.Store, "--image", rec.RestoredFrom}
	if cfgPath != "" {
		args = append(args, "--config", cfgPath)
	}
	cmd := exec.Command(self, args...)
	cmd.ExtraFiles = []*os.File{pw} // fd 3: readiness
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("start the exit watch: %w", err)
	}
	cmd.Process.Release()
	pr.SetReadDeadline(time.Now().Add(exitWatchReady))
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		return fmt.Errorf("the exit watch did not start: %w", err)
	}
	if line = strings.TrimSpace(line); line != "ok" {
		return fmt.Errorf("the exit watch did not start: %s", line)
	}
	return nil
}

// runExitWatch subscribes to containerd's /tasks/delete events, says so on
// fd 3, and waits for the container's: a restored workload that exited 0
// has finished, and its image is removed; one that exited otherwise (a
// crash, an OOM kill) keeps it for its next create, which restores it again
// within max_restore_attempts; without an event (containerd unreachable,
// a shim that deleted the task itself) the image stays too.
func runExitWatch(e *env, args []string) int {
	fs := newFlags(e, "exit-watch", "--address SOCK --namespace NS --id ID --key KEY --store PATH --image ID [--config PATH]")
	address := fs.String("address", "", "containerd socket")
	ns := fs.String("namespace", "", "containerd namespace")
	id := fs.String("id", "", "container id")
	keyArg := fs.String("key", "", "checkpoint key")
	storePath := fs.String("store", "", "checkpoint store")
	image := fs.String("image", "", "image the container was restored from")
	cfgPath := fs.String("config", "", "ARCH configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ready := os.NewFile(3, "ready")
	cfg, _ := e.loadConfig(*cfgPath)
	log, done := openLog(cfg, "hook")
	defer done()
	l := log.With().Str("hook", "exit-watch").Str("id", *id).Str("key", *keyArg).Str("image", *image).Logger()
	w, err := exitstatus.Start(*address, *ns, *id)
	if err != nil {
		if ready != nil {
			fmt.Fprintf(ready, "%v\n", err)
			ready.Close()
		}
		l.Warn().Err(err).Msg("exit status unknown: image kept")
		return 1
	}
	defer w.Close()
	if ready != nil {
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}
	status, err := w.Wait(exitWatchTimeout)
	if err != nil {
		l.Warn().Err(err).Msg("exit status unknown: image kept for the next create")
		return 0
	}
	settleExit(cfg, *keyArg, *storePath, *image, status, &l)
	return 0
}

// settleExit keeps or removes the image a finished container was restored
// from, by its exit status.
func settleExit(cfg config.Config, rawKey, storePath, image string, status int, log *zerolog.Logger) {
	key, err := ckpt.ParseKey(rawKey)
	if err != nil {
		log.Warn().Err(err).Msg("bad key")
		return
	}
	store, err := archspec.OpenStore(cfg.Allowed(), storePath)
	if err != nil {
		log.Warn().Err(err).Msg("checkpoint store unusable")
		return
	}
	if status == 0 {
		removed, err := store.RemoveIfCurrent(key, image)
		if err != nil {
			log.Warn().Err(err).Msg("cannot remove the image the container was restored from")
			return
		}
		log.Info().Bool("removed", removed).Msg("restored container finished with status 0: image removed")
		return
	}
	if err := store.NoteExit(key, image, status); err != nil {
		log.Warn().Err(err).Msg("cannot note the exit status")
	}
	log.Info().Int("status", status).Msg("restored container exited with a failure: image kept for the next create (max_restore_attempts bounds its restores)")
}
