// Command arch-wrapper is installed as containerd's runc binary. It hands
// every call to the real runc unchanged, except for containers that opted in
// to ARCH (ARCH_ENABLE=1), whose checkpoints go to ARCH's store and whose next
// create restores from it. It never writes to stdout or stderr.
package main

import (
	"os"

	// Pass-through calls are handed to runc before the Go runtime starts.
	_ "github.com/arch-ckpt/arch/pkg/fastpath"
	"github.com/arch-ckpt/arch/pkg/wrapper"
)

func main() {
	// Every call that returns (a checkpoint, a create, a restore) returns
	// here; one handed to runc never does. What ships does not profile
	// (profile_off.go).
	startProfile(os.Args)
	code := wrapper.Main(os.Args, os.Environ())
	stopProfile()
	os.Exit(code)
}
