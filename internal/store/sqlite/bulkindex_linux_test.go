package sqlite

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// BenchmarkBulkIndex compares two ways of indexing the same appended rows,
// by the writer thread's CPU time per event:
//
//   - rowwise: the store as it is, every secondary index updated row by
//     row as each batch commits;
//   - bulk: a store whose secondary indexes were dropped, so an append
//     writes only the table and its key, and then each index built at once
//     with its own CREATE INDEX, as a store that seals segments would do.
//
// Batches alternate between the two stores, prepared outside the clock as
// serve's consumer prepares them. With -benchtime 20x each store holds
// 100,000 events, the size of a segment.
//
//	go test ./internal/store/sqlite -run '^$' -bench BulkIndex -benchtime 20x
func BenchmarkBulkIndex(b *testing.B) {
	const batch = 5000
	ctx := context.Background()
	var rowwise, bulk *Store
	for _, s := range []**Store{&rowwise, &bulk} {
		st, err := Open(ctx, filepath.Join(b.TempDir(), "events.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		*s = st
	}
	indexes := secondaryIndexes(b, bulk)
	for _, ix := range indexes {
		if _, err := bulk.w.ExecContext(ctx, "DROP INDEX "+ix.name); err != nil {
			b.Fatal(err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var appendRowwise, appendBulk time.Duration
	total := b.N * batch
	for n := range b.N {
		evs := make([]store.Encoded, batch)
		for i := range evs {
			ev := storetest.BenchEvent(n*batch+i, total)
			evs[i] = store.Encoded{Event: ev, JSON: ev.AppendJSON(nil)}
		}
		order := []*Store{rowwise, bulk}
		if n%2 == 1 {
			order[0], order[1] = bulk, rowwise
		}
		for _, s := range order {
			// Each store prepares its own copy: a prepared row holds
			// its store's key, and each store has its own salt.
			cp := append([]store.Encoded(nil), evs...)
			s.PrepareEncoded(cp)
			t0 := threadCPU(b)
			if _, err := s.AppendEncoded(ctx, cp); err != nil {
				b.Fatal(err)
			}
			if s == rowwise {
				appendRowwise += threadCPU(b) - t0
			} else {
				appendBulk += threadCPU(b) - t0
			}
		}
	}
	t0 := threadCPU(b)
	for _, ix := range indexes {
		if _, err := bulk.w.ExecContext(ctx, ix.sql); err != nil {
			b.Fatal(err)
		}
	}
	build := threadCPU(b) - t0
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(total) }
	b.ReportMetric(per(appendRowwise), "rowwise-µs/event")
	b.ReportMetric(per(appendBulk), "bulk-append-µs/event")
	b.ReportMetric(per(build), "bulk-index-µs/event")
	b.ReportMetric(per(appendBulk+build)/per(appendRowwise), "bulk/rowwise")
	b.ReportMetric(0, "ns/op")
}

type indexDef struct{ name, sql string }

// secondaryIndexes lists the events table's indexes that a bulk build
// would create after the rows (every index but the key's).
func secondaryIndexes(tb testing.TB, s *Store) []indexDef {
	rows, err := s.w.QueryContext(context.Background(),
		`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []indexDef
	for rows.Next() {
		var d indexDef
		if err := rows.Scan(&d.name, &d.sql); err != nil {
			tb.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatal("the events table has no secondary index")
	}
	return out
}
