// Command mkimage writes the demo's OCI image (the busybox shell counter the
// end-to-end tests use) as an OCI layout tar for `ctr image import`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/arch-ckpt/arch/internal/testbed"
)

func main() {
	out := flag.String("o", "counter.tar", "output file")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func write(out string) error {
	files, err := testbed.BusyboxFilesFrom("/bin/busybox")
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := testbed.WriteOCILayout(f, testbed.ShellCounterRef, files, testbed.ShellCounterConfig); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
