// Command arch-hook is ARCH's OCI hook (runc runs it at lifecycle points of
// enabled containers) and the operator's tool: explain, list, gc, checkpoint-all, watch-spot, install.
package main

import (
	"os"

	"github.com/arch-ckpt/arch/pkg/hookcli"
)

func main() {
	startProfile(os.Args) // nothing in what ships (profile_off.go)
	code := hookcli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}
