//go:build !linux

package detect

import "time"

// threadCPUTime is only available on Linux; elsewhere the benchmarks report
// wall-clock throughput only.
func threadCPUTime() (time.Duration, bool) { return 0, false }
