//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// CPUTime returns the user and system CPU time this process has used so
// far. On a shared machine wall-clock rates swing with the other load; CPU
// time per event is what a change to the write path saves.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
