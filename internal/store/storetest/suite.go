package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// Opener returns a new, empty store for one subtest; the suite closes it.
type Opener func(t *testing.T, opts *store.Options) store.Store

// SuiteEvents is the size of the suite's data set.
const SuiteEvents = 600

// Run runs the shared suite against the backend open creates.
func Run(t *testing.T, open Opener) {
	t.Run("AppendIdempotent", func(t *testing.T) { testAppend(t, open) })
	t.Run("AppendEncoded", func(t *testing.T) { testAppendEncoded(t, open) })
	t.Run("Get", func(t *testing.T) { testGet(t, open) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, open) })
	t.Run("TimeRangeRequired", func(t *testing.T) { testTimeRange(t, open) })
	t.Run("DeleteBefore", func(t *testing.T) { testDeleteBefore(t, open) })
	t.Run("TrimToSize", func(t *testing.T) { testTrim(t, open) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("Cancellation", func(t *testing.T) { testCancel(t, open) })
	t.Run("HostileText", func(t *testing.T) { testHostile(t, open) })
	t.Run("Close", func(t *testing.T) { testClose(t, open) })
}

func openFilled(t *testing.T, open Opener, opts *store.Options) (store.Store, []*event.Event) {
	t.Helper()
	s := open(t, opts)
	t.Cleanup(func() { s.Close() })
	evs := Events(SuiteEvents, 1)
	n, err := s.Append(t.Context(), evs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if want := len(Sorted(evs)); n != want {
		t.Fatalf("Append stored %d events, want %d", n, want)
	}
	return s, evs
}

func mustCount(t *testing.T, s store.Store, req store.SearchRequest) int64 {
	t.Helper()
	n, err := s.Count(t.Context(), req)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func testAppend(t *testing.T, open Opener) {
	s, evs := openFilled(t, open, nil)
	ctx := t.Context()
	want := int64(len(Sorted(evs)))
	if got := mustCount(t, s, store.SearchRequest{}); got != want {
		t.Fatalf("Count = %d, want %d", got, want)
	}
	// A batch re-sent after a crash, partly overlapping new events and
	// with a duplicate inside the batch itself.
	more := Events(50, 2)
	batch := append(append(append([]*event.Event{}, evs[100:200]...), more...), more[0])
	n, err := s.Append(ctx, batch)
	if err != nil {
		t.Fatalf("re-Append: %v", err)
	}
	if n != 50 {
		t.Fatalf("re-Append stored %d new events, want 50", n)
	}
	if got := mustCount(t, s, store.SearchRequest{}); got != want+50 {
		t.Fatalf("Count after re-Append = %d, want %d", got, want+50)
	}
	if n, err := s.Append(ctx, nil); err != nil || n != 0 {
		t.Fatalf("Append(nil) = %d, %v", n, err)
	}
}

// testAppendEncoded: events appended with their bus encoding are stored,
// searched and returned like Append's, and the two paths deduplicate
// against each other.
func testAppendEncoded(t *testing.T, open Opener) {
	s := open(t, nil)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	evs := Events(SuiteEvents, 1)
	enc := make([]store.Encoded, len(evs))
	for i, ev := range evs {
		data := ev.AppendJSON(nil)
		back := new(event.Event)
		if err := back.UnmarshalJSON(data); err != nil {
			t.Fatalf("decoding event %d: %v", i, err)
		}
		enc[i] = store.Encoded{Event: back, JSON: data}
	}
	want := len(Sorted(evs))
	n, err := s.AppendEncoded(ctx, enc[:400])
	if err != nil {
		t.Fatalf("AppendEncoded: %v", err)
	}
	// The rest through Append, overlapping the first part: nothing twice.
	m, err := s.Append(ctx, evs[300:])
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if n+m != want {
		t.Fatalf("stored %d+%d events, want %d", n, m, want)
	}
	if k, err := s.AppendEncoded(ctx, enc); err != nil || k != 0 {
		t.Fatalf("re-AppendEncoded = %d, %v; want 0 new", k, err)
	}
	if got := mustCount(t, s, store.SearchRequest{}); got != int64(want) {
		t.Fatalf("Count = %d, want %d", got, want)
	}
	for _, i := range []int{0, 123, 399} {
		id := store.ID(evs[i])
		rec, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get(%s): %v", id, err)
		}
		if got, want := string(rec.Event.AppendJSON(nil)), string(evs[i].AppendJSON(nil)); got != want {
			t.Fatalf("event %d came back as\n%s\nwant\n%s", i, got, want)
		}
	}
	for _, c := range Cases() {
		if got, want := SearchAll(t, s, c, store.MaxLimit), Expected(c, evs); !slices.Equal(got, want) {
			t.Fatalf("query %q: got %d ids, want %d\n%s", c.Query, len(got), len(want), diffIDs(got, want))
		}
	}
}

func testGet(t *testing.T, open Opener) {
	s, evs := openFilled(t, open, nil)
	for _, ev := range evs[:20] {
		id := store.ID(ev)
		rec, err := s.Get(t.Context(), id)
		if err != nil {
			t.Fatalf("Get(%s): %v", id, err)
		}
		if rec.ID != id {
			t.Fatalf("Get returned id %s, want %s", rec.ID, id)
		}
		got, want := string(rec.Event.AppendJSON(nil)), string(ev.AppendJSON(nil))
		if got != want {
			t.Fatalf("stored event changed:\n got %s\nwant %s", got, want)
		}
	}
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "not-an-id", ""} {
		if _, err := s.Get(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}

// SearchAll runs a case and returns every matching id across all pages.
func SearchAll(t *testing.T, s store.Store, c Case, limit int) []string {
	t.Helper()
	q, err := query.Parse(c.Query)
	if err != nil {
		t.Fatalf("%s: Parse(%q): %v", c.Name, c.Query, err)
	}
	req := store.SearchRequest{Query: q, From: c.From, To: c.To, Limit: limit}
	var ids []string
	for pages := 0; ; pages++ {
		if pages > SuiteEvents+10 {
			t.Fatalf("%s: pagination does not end", c.Name)
		}
		p, err := s.Search(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: Search(%q): %v", c.Name, c.Query, err)
		}
		if len(p.Records) > req.EffectiveLimit() {
			t.Fatalf("%s: page of %d records, limit %d", c.Name, len(p.Records), req.EffectiveLimit())
		}
		for _, r := range p.Records {
			ids = append(ids, r.ID)
		}
		if p.Next == "" {
			return ids
		}
		if len(p.Records) == 0 {
			t.Fatalf("%s: empty page with a next cursor", c.Name)
		}
		req.Cursor = p.Next
	}
}

// Expected returns the ids a case must return over evs, in search order.
func Expected(c Case, evs []*event.Event) []string {
	var m []*event.Event
	for _, ev := range evs {
		if c.Match(ev) {
			m = append(m, ev)
		}
	}
	return Sorted(m)
}

func testSearch(t *testing.T, open Opener) {
	s, evs := openFilled(t, open, nil)
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			want := Expected(c, evs)
			if len(want) == 0 && !c.None {
				t.Fatalf("case %q matches none of the suite's events: it would test nothing", c.Query)
			}
			got := SearchAll(t, s, c, store.MaxLimit)
			if !slices.Equal(got, want) {
				t.Fatalf("query %q: got %d ids, want %d\n%s", c.Query, len(got), len(want), diffIDs(got, want))
			}
			q, _ := query.Parse(c.Query)
			n := mustCount(t, s, store.SearchRequest{Query: q, From: c.From, To: c.To})
			if n != int64(len(want)) {
				t.Fatalf("Count(%q) = %d, want %d", c.Query, n, len(want))
			}
		})
	}
	// A query the store cannot run comes back as a *query.Error.
	q := &query.Query{Text: "x", Root: &query.Term{Field: "@timestamp", Value: "x"}}
	var qe *query.Error
	if _, err := s.Search(t.Context(), store.SearchRequest{Query: q}); !errors.As(err, &qe) {
		t.Fatalf("Search with an invalid term: error %v, want *query.Error", err)
	}
}

func diffIDs(got, want []string) string {
	g := map[string]bool{}
	for _, id := range got {
		g[id] = true
	}
	w := map[string]bool{}
	for _, id := range want {
		w[id] = true
	}
	var out string
	for _, id := range want {
		if !g[id] {
			out += "missing " + id + "\n"
		}
	}
	for _, id := range got {
		if !w[id] {
			out += "extra   " + id + "\n"
		}
	}
	if out == "" {
		out = "same ids, different order"
	}
	if len(out) > 2000 {
		out = out[:2000] + "..."
	}
	return out
}

func testPagination(t *testing.T, open Opener) {
	s, evs := openFilled(t, open, nil)
	all := Sorted(evs)
	for _, limit := range []int{1, 7, 100, SuiteEvents} {
		got := SearchAll(t, s, Case{Name: fmt.Sprintf("limit %d", limit)}, limit)
		if !slices.Equal(got, all) {
			t.Fatalf("limit %d: pages do not concatenate to the full ordering\n%s", limit, diffIDs(got, all))
		}
	}
	// The cursor is stable: events appended while paging (newer and
	// older than the cursor) neither repeat nor shift the pages.
	ctx := t.Context()
	p1, err := s.Search(ctx, store.SearchRequest{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	newer := Events(20, 3)
	for _, ev := range newer {
		ev.Timestamp = Base.Add(time.Hour)
	}
	if _, err := s.Append(ctx, newer); err != nil {
		t.Fatal(err)
	}
	p2, err := s.Search(ctx, store.SearchRequest{Limit: 50, Cursor: p1.Next})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range append(p1.Records, p2.Records...) {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, all[:100]) {
		t.Fatalf("pages changed after a concurrent append\n%s", diffIDs(ids, all[:100]))
	}
	if _, err := s.Search(ctx, store.SearchRequest{Cursor: "garbage!"}); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad cursor: error %v, want ErrBadCursor", err)
	}
	// Default and maximum page sizes.
	p, err := s.Search(ctx, store.SearchRequest{})
	if err != nil || len(p.Records) != store.DefaultLimit {
		t.Fatalf("default page: %d records, %v", len(p.Records), err)
	}
}

func testTimeRange(t *testing.T, open Opener) {
	s, _ := openFilled(t, open, &store.Options{TimeRangeRequiredAbove: 100})
	ctx := t.Context()
	_, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, "event.action:block")})
	if !errors.Is(err, store.ErrTimeRangeRequired) {
		t.Fatalf("Search without a range on a large store: error %v, want ErrTimeRangeRequired", err)
	}
	if _, err := s.Count(ctx, store.SearchRequest{}); !errors.Is(err, store.ErrTimeRangeRequired) {
		t.Fatalf("Count without a range: error %v, want ErrTimeRangeRequired", err)
	}
	for _, req := range []store.SearchRequest{
		{From: Base.Add(-24 * time.Hour)},
		{Query: mustParse(t, "@timestamp>=now-24h event.action:block")},
		{Query: mustParse(t, "(@timestamp>=2026-11-19 AND user.name:root) OR @timestamp:[2026-11-01 TO 2026-11-02]")},
	} {
		if _, err := s.Search(ctx, req); err != nil {
			t.Fatalf("bounded search %q: %v", req.Query.String(), err)
		}
	}
	// An OR with an unbounded branch is not bounded.
	if _, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, "@timestamp>=now-1h OR user.name:root")}); !errors.Is(err, store.ErrTimeRangeRequired) {
		t.Fatalf("half-bounded OR: error %v, want ErrTimeRangeRequired", err)
	}
	small, _ := openFilled(t, open, &store.Options{TimeRangeRequiredAbove: SuiteEvents * 2})
	if _, err := small.Search(ctx, store.SearchRequest{}); err != nil {
		t.Fatalf("store below the limit: %v", err)
	}
	off, _ := openFilled(t, open, &store.Options{TimeRangeRequiredAbove: -1})
	if _, err := off.Search(ctx, store.SearchRequest{}); err != nil {
		t.Fatalf("guard disabled: %v", err)
	}
}

func mustParse(t *testing.T, s string) *query.Query {
	t.Helper()
	q, err := query.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}

func testDeleteBefore(t *testing.T, open Opener) {
	s, evs := openFilled(t, open, nil)
	cutoff := Base.Add(-5*24*time.Hour - 7*time.Hour)
	var keep []*event.Event
	for _, ev := range evs {
		if !ev.Timestamp.Truncate(time.Microsecond).Before(cutoff) {
			keep = append(keep, ev)
		}
	}
	want := Sorted(keep)
	n, err := s.DeleteBefore(t.Context(), cutoff)
	if err != nil {
		t.Fatalf("DeleteBefore: %v", err)
	}
	if n != int64(len(Sorted(evs))-len(want)) {
		t.Fatalf("DeleteBefore deleted %d, want %d", n, len(Sorted(evs))-len(want))
	}
	got := SearchAll(t, s, Case{Name: "after retention"}, store.MaxLimit)
	if !slices.Equal(got, want) {
		t.Fatalf("events after DeleteBefore\n%s", diffIDs(got, want))
	}
	if n, err := s.DeleteBefore(t.Context(), cutoff); err != nil || n != 0 {
		t.Fatalf("second DeleteBefore = %d, %v; want 0", n, err)
	}
}

func testTrim(t *testing.T, open Opener) {
	s, evs := openFilled(t, open, nil)
	ctx := t.Context()
	size, err := s.Size(ctx)
	if err != nil || size <= 0 {
		t.Fatalf("Size = %d, %v", size, err)
	}
	if n, err := s.TrimToSize(ctx, size*2); err != nil || n != 0 {
		t.Fatalf("TrimToSize above the size deleted %d, %v", n, err)
	}
	budget := size / 2
	n, err := s.TrimToSize(ctx, budget)
	if err != nil {
		t.Fatalf("TrimToSize: %v", err)
	}
	all := Sorted(evs)
	if n <= 0 || n >= int64(len(all)) {
		t.Fatalf("TrimToSize(%d of %d bytes) deleted %d of %d events", budget, size, n, len(all))
	}
	after, err := s.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after > budget {
		t.Fatalf("Size after TrimToSize = %d, budget %d", after, budget)
	}
	// The survivors are exactly the newest events.
	got := SearchAll(t, s, Case{Name: "after trim"}, store.MaxLimit)
	if !slices.Equal(got, all[:len(all)-int(n)]) {
		t.Fatalf("TrimToSize did not delete the oldest events\n%s", diffIDs(got, all[:len(all)-int(n)]))
	}
}

func testConcurrent(t *testing.T, open Opener) {
	s := open(t, nil)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	const workers = 6
	batches := make([][]*event.Event, workers)
	var all []*event.Event
	for i := range batches {
		batches[i] = Events(150, uint64(10+i))
		all = append(all, batches[i]...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker also re-sends its neighbour's batch, so writers
			// race on the same ids.
			for _, b := range [][]*event.Event{batches[i], batches[(i+1)%workers]} {
				for off := 0; off < len(b); off += 40 {
					if _, err := s.Append(ctx, b[off:min(off+40, len(b))]); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := s.Search(ctx, store.SearchRequest{Query: mustQuery("destination.port:22"), Limit: 20}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent use: %v", err)
	}
	want := Sorted(all)
	got := SearchAll(t, s, Case{Name: "after concurrent appends"}, store.MaxLimit)
	if !slices.Equal(got, want) {
		t.Fatalf("events after concurrent appends\n%s", diffIDs(got, want))
	}
}

func mustQuery(s string) *query.Query {
	q, err := query.Parse(s)
	if err != nil {
		panic(err)
	}
	return q
}

func testCancel(t *testing.T, open Opener) {
	s, _ := openFilled(t, open, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Append(ctx, Events(10, 99)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Search(ctx, store.SearchRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Search with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Count(ctx, store.SearchRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Count with a cancelled context: %v, want context.Canceled", err)
	}
	// Nothing of the cancelled append was stored, and the store still works.
	if n := mustCount(t, s, store.SearchRequest{}); n != int64(len(Sorted(Events(SuiteEvents, 1)))) {
		t.Fatalf("Count after a cancelled Append = %d", n)
	}
	// A search past its deadline stops. (Waiting on Done, not sleeping
	// past the deadline: under load the timer that cancels the context
	// can run after the sleep ends, and the search then rightly succeeds.)
	dctx, dcancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer dcancel()
	<-dctx.Done()
	if _, err := s.Search(dctx, store.SearchRequest{Query: mustQuery("denied")}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Search past its deadline: %v, want context.DeadlineExceeded", err)
	}
}

func testClose(t *testing.T, open Opener) {
	s := open(t, nil)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Append(t.Context(), Events(1, 1)); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Search(t.Context(), store.SearchRequest{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Search after Close: %v, want ErrClosed", err)
	}
}

// Text the parsers let through (NUL bytes kept from the input, invalid
// UTF-8, odd vendor keys, megabyte records) must not fail a batch.
func testHostile(t *testing.T, open Opener) {
	s := open(t, nil)
	t.Cleanup(func() { s.Close() })
	var evs []*event.Event
	for i, msg := range []string{
		"hostile nul\x00inside",
		"hostile bad utf8 \xff\xfe end",
		"hostile quote ' \" and backslash \\ and %_ wildcards",
		"hostile " + strings.Repeat("long ", 200000),
	} {
		ev := &event.Event{Timestamp: Base.Add(-time.Duration(i) * time.Minute), Message: msg, Original: "raw\x00" + msg}
		ev.Provenance.SourceID = "test:hostile"
		ev.PutString(`vendor.we"ird key`, "v\x00")
		ev.PutString("user.name", "nul\x00user")
		evs = append(evs, ev)
	}
	n, err := s.Append(t.Context(), evs)
	if err != nil || n != len(evs) {
		t.Fatalf("Append of hostile text = %d, %v", n, err)
	}
	got := SearchAll(t, s, Case{Name: "hostile", Query: "hostile"}, 10)
	if !slices.Equal(got, Sorted(evs)) {
		t.Fatalf("free-text search over hostile text\n%s", diffIDs(got, Sorted(evs)))
	}
	for _, ev := range evs {
		rec, err := s.Get(t.Context(), store.ID(ev))
		if err != nil || !strings.HasPrefix(rec.Event.Message, "hostile") {
			t.Fatalf("Get of a hostile event: %v", err)
		}
	}
}
