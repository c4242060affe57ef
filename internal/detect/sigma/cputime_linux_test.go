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
// getrusage(RUSAGE_THREAD), used before, splits the thread's time by tick
// sampling and advances in irregular steps (20 µs to 4 ms on the benchmark
// machine), so the one-millisecond batches the alternating benchmarks time
// were often read as 0 and the per-batch figures were mostly step noise.
func threadCPUTime() (time.Duration, bool) {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
