//go:build !archprofile

package main

// The shipped wrapper does not profile itself: no profiling package is
// linked and the profiling variables are not read (profile.go has the
// benchmarks' build).
func startProfile([]string) {}
func stopProfile()          {}
