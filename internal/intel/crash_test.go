package intel_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

const crashEnv = "MCPSOC_INTEL_CRASH_CHILD"

// crashChild imports batches of 20,000 indicators into the store at path
// until it is killed.
func crashChild(path string) {
	ctx := context.Background()
	st, err := intel.Open(ctx, path, &intel.Options{NoMatcher: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for n := 0; ; n++ {
		es := make([]intel.Entry, 20_000)
		for i := range es {
			es[i] = intel.Entry{Type: ioc.Domain, Value: fmt.Sprintf("h%d.b%d.example", i, n), Ref: fmt.Sprint(n)}
		}
		if _, err := st.Import(ctx, "crash", intel.Batch{Entries: es}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
}

// TestCrashDuringImport kills a process in the middle of imports
// (SIGKILL, no cleanup) and checks that the store reopens consistent,
// holding only whole batches.
func TestCrashDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "intel.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it commit some batches and be in the middle of another.
		time.Sleep(time.Duration(1500+700*round) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		ctx := context.Background()
		st, err := intel.Open(ctx, path, &intel.Options{NoMatcher: true})
		if err != nil {
			t.Fatalf("round %d: reopening after the crash: %v", round, err)
		}
		if err := st.Check(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		n, err := st.Len(ctx)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n%20_000 != 0 {
			t.Fatalf("round %d: %d indicators: a batch was partly kept", round, n)
		}
		t.Logf("round %d: %d whole batches survived the kill", round, n/20_000)
	}
}
