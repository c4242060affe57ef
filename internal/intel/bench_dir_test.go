package intel_test

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchDir string

// tempDir is a directory for the shared 1M-indicator store, which outlives
// any one benchmark's b.TempDir; TestMain removes it.
func tempDir() (string, error) {
	d, err := os.MkdirTemp("", "mcpsoc-intel-bench-")
	benchDir = d
	return d, err
}

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
	}
	code := m.Run()
	if bigStore != nil {
		bigStore.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
