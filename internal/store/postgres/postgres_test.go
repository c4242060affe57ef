package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/postgres"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

func openFresh(t *testing.T, opts *store.Options) store.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), storetest.FreshPostgres(t), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestSuite(t *testing.T) { storetest.Run(t, openFresh) }

func BenchmarkAppend(b *testing.B) {
	storetest.BenchAppend(b, func(b *testing.B) store.Store {
		s, err := postgres.Open(b.Context(), storetest.FreshPostgres(b), nil)
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
	s    *postgres.Store
	drop func() error
	err  error
}

// BenchmarkSearch loads MCPSOC_BENCH_EVENTS events (default 200,000) into
// a fresh database with two concurrent loaders, analyzes it, reports the
// load rate and size on stderr, then times first-page searches over the
// newest 24 hours. The database is dropped when the process ends.
func BenchmarkSearch(b *testing.B) {
	n := storetest.BenchEventsFromEnv(200_000)
	large.once.Do(func() {
		ctx := context.Background()
		var dsn string
		dsn, large.drop, large.err = storetest.CreatePostgres(ctx)
		if large.err != nil {
			return
		}
		if large.s, large.err = postgres.Open(ctx, dsn, &store.Options{TimeRangeRequiredAbove: -1}); large.err != nil {
			return
		}
		start := time.Now()
		const loaders = 2
		errs := make(chan error, loaders)
		var done atomic.Int64
		for w := 0; w < loaders; w++ {
			go func() {
				from, to := n*w/loaders, n*(w+1)/loaders
				last := 0
				errs <- storetest.Load(ctx, large.s, from, to, n, func(d int) {
					total := done.Add(int64(d - last))
					last = d
					if total%int64(n/10+1) < storetest.BenchBatch {
						fmt.Fprintf(os.Stderr, "postgres: loaded %d/%d events (%.0f events/s)\n", total, n, float64(total)/time.Since(start).Seconds())
					}
				})
			}()
		}
		for w := 0; w < loaders; w++ {
			if err := <-errs; err != nil && large.err == nil {
				large.err = err
			}
		}
		if large.err != nil {
			return
		}
		took := time.Since(start)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			large.err = err
			return
		}
		defer conn.Close(ctx)
		if _, large.err = conn.Exec(ctx, "ANALYZE events"); large.err != nil {
			return
		}
		size, _ := large.s.Size(ctx)
		fmt.Fprintf(os.Stderr, "postgres: loaded %d events in %s: %.0f events/s; %d bytes with indexes (%.0f B/event)\n",
			n, took.Round(time.Millisecond), float64(n)/took.Seconds(), size, float64(size)/float64(n))
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
	if large.drop != nil {
		if err := large.drop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// A partition dropped behind the store's back (another instance's
// retention) is recreated on the next append.
func TestPartitionDroppedElsewhere(t *testing.T) {
	dsn := storetest.FreshPostgres(t)
	s, err := postgres.Open(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs := storetest.Events(40, 5)
	if _, err := s.Append(t.Context(), evs[:20]); err != nil {
		t.Fatal(err)
	}
	other, err := postgres.Open(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.DeleteBefore(t.Context(), storetest.Base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Append(t.Context(), evs)
	if err != nil {
		t.Fatalf("Append after another instance dropped partitions: %v", err)
	}
	if want := len(storetest.Sorted(evs)); n != want {
		t.Fatalf("Append stored %d, want %d", n, want)
	}
}
