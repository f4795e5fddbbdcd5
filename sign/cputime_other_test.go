//go:build !linux

package sign_test

import "time"

// threadCPU falls back to wall time where a per-thread CPU clock is not at hand.
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
