//go:build archprofile

// The benchmarks' build (`go build -tags archprofile`, as bench ckpt and
// bench drain -cpuprofile/-trace do): ARCH_CPUPROFILE and ARCH_TRACE
// profile each call to files named after its runc command
// (internal/archprof). What ships has none of this (profile_off.go).

package main

import (
	"os"

	"github.com/arch-ckpt/arch/internal/archprof"
)

// stopProfile writes the profiles startProfile started.
var stopProfile = func() {}

func startProfile(argv []string) {
	stopProfile = archprof.Start(archprof.RuncCommand(argv), os.Getenv)
}
