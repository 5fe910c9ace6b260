//go:build !archprofile

package main

// The shipped arch-hook does not profile itself (profile.go has the
// benchmarks' build).
func startProfile([]string) {}
func stopProfile()          {}
