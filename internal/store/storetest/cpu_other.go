//go:build !unix

package storetest

import "time"

// CPUTime is not measured on this platform; benchmarks report 0.
func CPUTime() time.Duration { return 0 }
