package sigma

import "testing"

// TestThreadCPUTimeResolution checks that the benchmarks' CPU clock moves
// in well under a scheduler tick: the alternating benchmarks time batches
// of about a millisecond.
func TestThreadCPUTimeResolution(t *testing.T) {
	t0, ok := threadCPUTime()
	if !ok {
		t.Skip("no thread CPU clock")
	}
	x := 0
	for i := 0; ; i++ {
		x += i * i
		t1, _ := threadCPUTime()
		if d := t1 - t0; d > 0 {
			if d > 1e6 {
				t.Errorf("thread CPU clock advanced by %v at once; want sub-millisecond steps", d)
			}
			break
		}
		if i > 1e8 {
			t.Fatal("thread CPU clock never advanced")
		}
	}
	_ = x
}
