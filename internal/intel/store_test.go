package intel

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

// ev is a minimal ioc.Event.
type ev map[string]any

func (e ev) Get(f string) (any, bool) { v, ok := e[f]; return v, ok }

func TestStoreImportLookupPersist(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "intel.db")
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := Open(ctx, path, &Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{Entries: []Entry{
		{Type: ioc.IP, Value: "198.51.100.23", Confidence: 60, Ref: "event-1", Labels: []string{"c2"},
			KillChain: []KillChainPhase{{"mitre-attack", "command-and-control"}}},
		{Type: ioc.Domain, Value: "Update-Check.Example.", Confidence: 60, Ref: "event-1"},
		{Type: ioc.CIDR, Value: "203.0.113.0/25", Ref: "event-2", ValidUntil: clock.Add(time.Hour)},
		{Type: ioc.IP, Value: "not-an-ip", Ref: "event-3"},
	}}
	res, err := s.Import(ctx, "misp-a", b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 3 || res.Updated != 0 || len(res.Skipped) != 1 {
		t.Fatalf("first import: %+v", res)
	}
	// A live matcher sees the indicators at once.
	hits := s.Set().Match(ev{"destination.ip": "203.0.113.7", "dns.question.name": "www.update-check.example"}, clock, nil, nil)
	if len(hits) != 2 {
		t.Fatalf("hits = %+v", hits)
	}
	clock = clock.Add(time.Minute)
	res, err = s.Import(ctx, "feed-b", Batch{Entries: []Entry{
		{Type: ioc.IP, Value: "198.51.100.23", Confidence: 90, ValidUntil: clock.Add(48 * time.Hour), ExternalRefs: []ExternalRef{{SourceName: "b", URL: "https://b.example/1"}}},
		{Type: ioc.SHA256, Value: "3A7BD3E2360A3D29EEA436FCFB7E44C735D117C42D1C1835420B6B9942DD4F1B"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Updated != 1 {
		t.Fatalf("second import: %+v", res)
	}
	got, err := s.Lookup(ctx, "198.51.100.23")
	if err != nil || len(got) != 1 {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	in := got[0]
	if in.MatchedBy != "exact" || in.Confidence != 90 || len(in.Sources) != 2 || !in.ValidUntil.IsZero() {
		t.Errorf("merged view: %+v", in)
	}
	if in.Sources[0].Source != "feed-b" || in.Sources[1].Source != "misp-a" || in.Sources[1].Labels[0] != "c2" ||
		in.Sources[1].KillChain[0].PhaseName != "command-and-control" || in.Sources[0].ExternalRefs[0].URL != "https://b.example/1" {
		t.Errorf("provenance: %+v", in.Sources)
	}
	if in.FirstSeen.Sub(clock.Add(-time.Minute)) > time.Millisecond || in.LastSeen.Sub(clock) > time.Millisecond || !in.LastSeen.After(in.FirstSeen) {
		t.Errorf("first/last seen: %v %v", in.FirstSeen, in.LastSeen)
	}
	if len(in.Related) != 1 || in.Related[0].Value != "update-check.example" || in.Related[0].Ref != "event-1" {
		t.Errorf("related: %+v", in.Related)
	}
	// Lookups through containment.
	for q, want := range map[string]string{"203.0.113.100": "cidr", "a.b.update-check.example": "parent_domain",
		"http://update-check.example/x": "url_host", "x@update-check.example": "email_domain"} {
		got, err := s.Lookup(ctx, q)
		if err != nil || len(got) != 1 || got[0].MatchedBy != want {
			t.Errorf("lookup %s: %+v %v", q, got, err)
		}
	}
	if got, err := s.Lookup(ctx, "192.0.2.1"); err != nil || len(got) != 0 {
		t.Errorf("miss: %+v %v", got, err)
	}
	if _, err := s.Lookup(ctx, "no such thing"); err == nil {
		t.Error("lookup of junk succeeded")
	}
	s.Close()

	// A restart keeps everything and the matcher is rebuilt.
	s, err = Open(ctx, path, &Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.Set().Len(); n != 4 {
		t.Errorf("after reopen the matcher holds %d, want 4", n)
	}
	srcs, err := s.Sources(ctx)
	if err != nil || len(srcs) != 2 || srcs[0].Indicators != 2 || srcs[1].Indicators != 3 {
		t.Errorf("sources: %+v %v", srcs, err)
	}
	// Expiry: the CIDR's only source expires it.
	clock = clock.Add(2 * time.Hour)
	n, err := s.Prune(ctx)
	if err != nil || n != 1 {
		t.Errorf("prune = %d %v", n, err)
	}
	if got, _ := s.Lookup(ctx, "203.0.113.7"); len(got) != 0 {
		t.Errorf("expired CIDR still found: %+v", got)
	}
}

func TestStoreRefreshSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "intel.db")
	serve, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer serve.Close()
	cli, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Import(ctx, "cli", Batch{Entries: []Entry{{Type: ioc.Domain, Value: "late.example"}}}); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	if n, err := serve.Refresh(ctx); err != nil || n != 1 {
		t.Fatalf("refresh = %d %v", n, err)
	}
	if hits := serve.Set().Match(ev{"url.domain": "late.example"}, time.Now(), nil, nil); len(hits) != 1 {
		t.Errorf("hits = %+v", hits)
	}
}

func TestStorePage(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "intel.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var es []Entry
	for i := range 25 {
		es = append(es, Entry{Type: ioc.Domain, Value: "d" + string(rune('a'+i)) + ".example"})
	}
	if _, err := s.Import(ctx, "a", Batch{Entries: es[:20]}); err != nil {
		t.Fatal(err)
	}
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	if _, err := s.Import(ctx, "b", Batch{Entries: es[15:]}); err != nil {
		t.Fatal(err)
	}
	// Paging walks all 25 once, in change order.
	seen := map[string]bool{}
	var cur *Cursor
	for pages := 0; ; pages++ {
		page, next, err := s.Page(ctx, PageOptions{After: cur, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range page {
			if seen[in.Value] {
				t.Fatalf("%s twice", in.Value)
			}
			seen[in.Value] = true
		}
		if next == nil {
			break
		}
		cur = next
	}
	if len(seen) != 25 {
		t.Errorf("paged %d, want 25", len(seen))
	}
	// The five re-reported by b changed (new source) and come after mid.
	after, _, err := s.Page(ctx, PageOptions{AddedAfter: mid})
	if err != nil || len(after) != 10 {
		t.Errorf("added after: %d %v", len(after), err)
	}
	onlyB, _, err := s.Page(ctx, PageOptions{Source: "b"})
	if err != nil || len(onlyB) != 10 || len(onlyB[0].Sources) == 0 {
		t.Errorf("source b: %d %v", len(onlyB), err)
	}
}

func TestStoreWithoutMatcher(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "intel.db")
	s, err := Open(ctx, path, &Options{NoMatcher: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Import(ctx, "a", Batch{Entries: []Entry{{Type: ioc.CIDR, Value: "2001:db8::/32"}, {Type: ioc.Domain, Value: "evil.example"}}}); err != nil {
		t.Fatal(err)
	}
	if s.Set() != nil {
		t.Error("a matcher was kept")
	}
	for q, want := range map[string]string{"2001:db8::7": "cidr", "http://[2001:db8::1]:8080/x": "cidr", "a.b.evil.example": "parent_domain", "evil.example": "exact"} {
		got, err := s.Lookup(ctx, q)
		if err != nil || len(got) != 1 || got[0].MatchedBy != want {
			t.Errorf("lookup %s: %+v %v", q, got, err)
		}
	}
	if n, err := s.Prune(ctx); err != nil || n != 0 {
		t.Errorf("prune %d %v", n, err)
	}
}

// TestStoreConcurrent imports while other goroutines look up, match and
// refresh (run with -race).
func TestStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "intel.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan struct{})
	errs := make(chan error, 8)
	go func() {
		defer close(done)
		for i := range 20 {
			var es []Entry
			for j := range 50 {
				es = append(es, Entry{Type: ioc.Domain, Value: fmt.Sprintf("d%d-%d.example", i, j), Ref: fmt.Sprint(i)})
			}
			if _, err := s.Import(ctx, fmt.Sprintf("src%d", i%3), Batch{Entries: es}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, err := s.Lookup(ctx, "www.d3-7.example"); err != nil {
					errs <- err
					return
				}
				s.Set().Match(ev{"dns.question.name": "d1-1.example"}, time.Now(), nil, nil)
				if _, err := s.Refresh(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Lookup(ctx, "www.d3-7.example"); err != nil || len(got) != 1 || len(got[0].Related) != 49 {
		t.Errorf("after: %d %v", len(got), err)
	}
}

func TestImportSkipsExpired(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "intel.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Import(ctx, "a", Batch{Entries: []Entry{
		{Type: ioc.IP, Value: "192.0.2.1", ValidUntil: time.Now().Add(-time.Hour), Ref: "old"},
		{Type: ioc.IP, Value: "192.0.2.2", ValidUntil: time.Now().Add(time.Hour)},
	}})
	if err != nil || res.Added != 1 || len(res.Skipped) != 1 || res.Skipped[0].Ref != "old" || !strings.Contains(res.Skipped[0].Reason, "expired") {
		t.Errorf("%+v %v", res, err)
	}
	if _, err := s.Import(ctx, " ", Batch{}); !errors.Is(err, ErrNoSource) {
		t.Errorf("no source: %v", err)
	}
}
