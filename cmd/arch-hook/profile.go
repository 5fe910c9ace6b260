//go:build archprofile

// The benchmarks' build: ARCH_CPUPROFILE and ARCH_TRACE profile each run
// to files named after its command (internal/archprof). What ships has
// none of this (profile_off.go).

package main

import (
	"os"

	"github.com/arch-ckpt/arch/internal/archprof"
)

// stopProfile writes the profiles startProfile started.
var stopProfile = func() {}

func startProfile(argv []string) {
	command := ""
	if len(argv) > 1 {
		command = argv[1]
	}
	stopProfile = archprof.Start(command, os.Getenv)
}
