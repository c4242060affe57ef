package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openTemp(t *testing.T, opts *store.Options) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestSuite(t *testing.T) { storetest.Run(t, openTemp) }

// The suite again with segments of 50 rows: most events are in sealed
// segments, searches merge many, and retention drops whole files.
func TestSuiteSegmented(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts *store.Options) store.Store {
		t.Helper()
		s, err := sqlite.OpenSegmented(t.Context(), filepath.Join(t.TempDir(), "events.db"), opts, 50)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// Reopening a store keeps its events and does not reapply migrations.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := storetest.Events(30, 7)
	if _, err := s.Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	n, err := s.Count(t.Context(), store.SearchRequest{})
	if err != nil || n != int64(len(storetest.Sorted(evs))) {
		t.Fatalf("Count after reopen = %d, %v", n, err)
	}
	if k, err := s.Append(t.Context(), evs); err != nil || k != 0 {
		t.Fatalf("re-Append after reopen stored %d, %v", k, err)
	}
	if err := s.Maintain(t.Context()); err != nil {
		t.Fatalf("Maintain: %v", err)
	}
}

func BenchmarkAppend(b *testing.B) {
	storetest.BenchAppend(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "events.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

func BenchmarkAppendEncoded(b *testing.B) {
	storetest.BenchAppendEncoded(b, func(b *testing.B) store.Store {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "events.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// large is the store BenchmarkSearch loads once per process: Go calls a
// benchmark several times while it sizes b.N.
var large struct {
	once sync.Once
	s    *sqlite.Store
	dir  string
	err  error
}

// BenchmarkSearch loads MCPSOC_BENCH_EVENTS events (default 200,000) into a
// SQLite file under MCPSOC_BENCH_DIR (default the temp directory), reports
// the load rate and file size on stderr, then times first-page searches
// over the newest 24 hours.
func BenchmarkSearch(b *testing.B) {
	n := storetest.BenchEventsFromEnv(200_000)
	large.once.Do(func() {
		large.dir, large.err = os.MkdirTemp(os.Getenv("MCPSOC_BENCH_DIR"), "mcpsoc-bench-")
		if large.err != nil {
			return
		}
		ctx := context.Background()
		path := filepath.Join(large.dir, "events.db")
		if large.s, large.err = sqlite.Open(ctx, path, &store.Options{TimeRangeRequiredAbove: -1}); large.err != nil {
			return
		}
		start, cpu0 := time.Now(), storetest.CPUTime()
		last, lastCPU, lastDone := start, cpu0, 0
		large.err = storetest.Load(ctx, large.s, 0, n, n, func(done int) {
			if done%(n/10+1) < storetest.BenchBatch {
				// The last tenth's own rate shows whether appends slow
				// down as the table grows; CPU time includes building the
				// events.
				now, cpu := time.Now(), storetest.CPUTime()
				fmt.Fprintf(os.Stderr, "sqlite: loaded %d/%d events (%.0f events/s; last tenth %.0f events/s, %.1f cpu-µs/event)\n", done, n,
					float64(done)/now.Sub(start).Seconds(), float64(done-lastDone)/now.Sub(last).Seconds(),
					float64((cpu-lastCPU).Microseconds())/float64(done-lastDone))
				last, lastCPU, lastDone = now, cpu, done
			}
		})
		if large.err != nil {
			return
		}
		took := time.Since(start)
		if large.err = large.s.Maintain(ctx); large.err != nil {
			return
		}
		size, _ := large.s.Size(ctx)
		fi, _ := os.Stat(path)
		fmt.Fprintf(os.Stderr, "sqlite: loaded %d events in %s: %.0f events/s; %d bytes in use (%.0f B/event), file %d bytes\n",
			n, took.Round(time.Millisecond), float64(n)/took.Seconds(), size, float64(size)/float64(n), fi.Size())
	})
	if large.err != nil {
		b.Fatal(large.err)
	}
	storetest.BenchSearch(b, large.s)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if large.s != nil {
		large.s.Close()
	}
	if large.dir != "" {
		os.RemoveAll(large.dir)
	}
	os.Exit(code)
}
