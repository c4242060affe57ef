//go:build unix

package scan

import (
	"syscall"
	"time"
)

// childrenCPU is the user+system CPU time of every child process this test
// has waited for so far (getrusage RUSAGE_CHILDREN): differences around a
// scan give the CPU the scanned servers burned.
func childrenCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// selfCPU is the user+system CPU time of this test process (the scanner).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
