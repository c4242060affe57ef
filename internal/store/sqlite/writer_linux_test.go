package sqlite

import (
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU(tb testing.TB) time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriterPrepared measures what PrepareEncoded takes off the
// writer, which is serve's critical path: the same batches go into two
// stores, one prepared beforehand (outside the clock, as serve's consumer
// does beside the writer) and one not, alternating batch by batch, and the
// writer goroutine's own thread CPU time is reported per event for each.
//
//	go test ./internal/store/sqlite -run '^$' -bench WriterPrepared -benchtime 40x
func BenchmarkWriterPrepared(b *testing.B) {
	const batch = 5000
	var stores [2]*Store
	for v := range stores {
		s, err := Open(b.Context(), filepath.Join(b.TempDir(), "events.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		stores[v] = s
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var spent [2]time.Duration
	total := b.N * batch
	for n := range b.N {
		for k := range 2 {
			v := (n + k) % 2 // which goes first alternates
			evs := make([]store.Encoded, batch)
			for i := range evs {
				ev := storetest.BenchEvent(n*batch+i, total)
				evs[i] = store.Encoded{Event: ev, JSON: ev.AppendJSON(nil)}
			}
			if v == 1 {
				stores[v].PrepareEncoded(evs)
			}
			t0 := threadCPU(b)
			if _, err := stores[v].AppendEncoded(b.Context(), evs); err != nil {
				b.Fatal(err)
			}
			spent[v] += threadCPU(b) - t0
		}
	}
	b.ReportMetric(float64(spent[0].Microseconds())/float64(total), "writer-µs/event")
	b.ReportMetric(float64(spent[1].Microseconds())/float64(total), "prepared-writer-µs/event")
	b.ReportMetric(0, "ns/op")
}
