package sigma

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPUTime returns the CPU time consumed by the calling OS thread. The
// benchmarks lock their goroutine to a thread and report events per CPU
// second next to events per wall second: on a shared machine the former is
// what one core delivers.
//
// It reads CLOCK_THREAD_CPUTIME_ID, which the kernel keeps in nanoseconds.
// getrusage(RUSAGE_THREAD), used before, advances in scheduler ticks (4 ms
// here), so the batches of a few milliseconds that the alternating
// benchmarks time were mostly read as 0 or one tick.
func threadCPUTime() (time.Duration, bool) {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
