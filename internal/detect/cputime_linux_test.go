package detect

import (
	"syscall"
	"time"
)

// threadCPUTime returns the CPU time consumed by the calling OS thread. The
// benchmarks lock their goroutine to a thread and report events per CPU
// second next to events per wall second: on a shared machine the former is
// what one core delivers.
func threadCPUTime() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
