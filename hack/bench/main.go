// Command bench measures ARCH against its baselines on this machine, in one
// run (shared, noisy machines: only ratios measured together mean anything).
// Run it through hack/bench.sh (root, after make build).
//
//	bench passthrough -runs 400      arch-wrapper state vs runc state
//	bench ckpt -mib 256 -runs 5      checkpoint and restore vs plain runc
//	bench drain -containers 20 -mib 64   checkpoint-all parallel vs sequential
//	bench drain -containers 200 -mib 4 -sequential=false -restore
//	                                 many small containers: drain, then restore all
//	bench fingerprint -files 10000   the image fingerprint at checkpoint and restore
//	bench ctrckpt -mib 256           ctr task checkpoint --exit vs ARCH's own checkpoint
//	bench podman -mib 256 -runs 5    ARCH next to podman checkpoint --export / restore --import
//
// ckpt and drain take -cpuprofile PREFIX and -trace PREFIX: profiles of
// every arch-wrapper and arch-hook process (profile.go).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench passthrough|ckpt|drain|ctrckpt|fingerprint|podman|podman [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "passthrough":
		err = passthrough(os.Args[2:])
	case "ckpt":
		err = checkpointRestore(os.Args[2:])
	case "drain":
		err = drainBench(os.Args[2:])
	case "ctrckpt":
		err = ctrCheckpoint(os.Args[2:])
	case "fingerprint":
		err = fingerprint(os.Args[2:])
	case "podman":
		err = podmanSideBySide(os.Args[2:])
	default:
		err = fmt.Errorf("unknown benchmark %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// common flags
type env struct {
	wrapper, hook, runc, work string
}

func commonFlags(fs *flag.FlagSet) *env {
	e := &env{}
	fs.StringVar(&e.wrapper, "wrapper", "bin/arch-wrapper", "arch-wrapper binary")
	fs.StringVar(&e.hook, "hook", "bin/arch-hook", "arch-hook binary")
	fs.StringVar(&e.runc, "runc", "/usr/sbin/runc", "the real runc")
	fs.StringVar(&e.work, "work", "", "work folder (default: a new one under /tmp)")
	return e
}
