//go:build !archfault

package wrapper

import "io"

// The shipped wrapper has no fault points: every one is a no-op the
// compiler removes, and the test-only environment variables are not read
// (fault.go has the test build's).

// FaultInjection reports whether this build has fault points.
const FaultInjection = false

func (c *call) faultArmed(string) bool                     { return false }
func (c *call) fault(string)                               {}
func (c *call) faultOnce(string) func()                    { return nil }
func (c *call) faultWhenFilled(string, string) func()      { return nil }
func (c *call) injectedFreezeFailure(int, io.Writer) error { return nil }
