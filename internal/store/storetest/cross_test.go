package storetest_test

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/postgres"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// termPool feeds the random queries both stores must answer identically.
var termPool = []string{
	"source.ip:10.0.0.0/8", "source.ip:192.0.2.0/28", "source.ip:2001:db8::/64", "destination.ip:203.0.113.1",
	"destination.port:22", "destination.port:[80 TO 1024]", "destination.port>1024", "source.port:<1000",
	"event.action:block", "event.action:pa*", "event.outcome:*", "event.dataset:system.auth",
	"user.name:root", "user.name:a*", "host.name:web-0?", "rule.id:*", "event.severity:[1 TO 2]",
	"failed", `"connection denied"`, "ok", "quota", "message:publickey", "100%",
	"event.category:network", "related.ip:198.51.100.0/29", "http.response.status_code:[300 TO 404]",
	"http.response.status_code:500", "url.original:*", "labels.env:prod", "labels.prod:false",
	"observer.name:fw-2", "@timestamp>=2026-11-18", "@timestamp:[2026-11-12 TO 2026-11-14]",
}

func randomQuery(r *rand.Rand) string {
	n := 1 + r.IntN(3)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString([]string{" AND ", " OR ", " "}[r.IntN(3)])
		}
		if r.IntN(4) == 0 {
			b.WriteString("NOT ")
		}
		if r.IntN(5) == 0 && i+1 < n {
			b.WriteString("(" + termPool[r.IntN(len(termPool))] + " OR " + termPool[r.IntN(len(termPool))] + ")")
			continue
		}
		b.WriteString(termPool[r.IntN(len(termPool))])
	}
	return b.String()
}

// TestStoresAgree loads the same events into SQLite and PostgreSQL and
// checks that the suite's cases and 300 random queries return the same ids
// in the same order from both.
func TestStoresAgree(t *testing.T) {
	ctx := t.Context()
	dsn := storetest.FreshPostgres(t)
	pg, err := postgres.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	evs := storetest.Events(storetest.SuiteEvents, 42)
	for _, s := range []store.Store{pg, lite} {
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	cases := storetest.Cases()
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 300; i++ {
		cases = append(cases, storetest.Case{Name: "random", Query: randomQuery(r)})
	}
	nonEmpty := 0
	for _, c := range cases {
		a := storetest.SearchAll(t, lite, c, 250)
		b := storetest.SearchAll(t, pg, c, 250)
		if !slices.Equal(a, b) {
			t.Fatalf("%s %q: sqlite returned %d ids, postgres %d", c.Name, c.Query, len(a), len(b))
		}
		if len(a) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < len(cases)/2 {
		t.Fatalf("only %d of %d queries matched anything: the comparison is too weak", nonEmpty, len(cases))
	}
}
