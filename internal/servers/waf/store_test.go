package waf

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/parse/modsec"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
)

// fixture is four records libmodsecurity 3.0.9 wrote behind nginx 1.22.1
// with CRS 3.3.4 (an SQL injection, an XSS, a path traversal and a second
// SQL injection, all blocked), recorded from the setup of startNginx.
const fixture = "testdata/nginx-modsec3-crs334.json"

func fixtureEvents(t *testing.T) []*event.Event {
	t.Helper()
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := parse.New(modsec.Name, &parse.Config{Location: time.UTC, SourceID: "file:" + fixture})
	if err != nil {
		t.Fatal(err)
	}
	sc := parse.NewScanner(f, n)
	var out []*event.Event
	for sc.Scan() {
		out = append(out, sc.Event())
	}
	if err := sc.Err(); err != nil || len(out) != 4 {
		t.Fatalf("%d events, %v", len(out), err)
	}
	return out
}

// TestFromStore reads the WAF events from an MCPSoc store (SQLite) instead
// of the log files, with the same answers.
func TestFromStore(t *testing.T) {
	c := context.Background()
	st, err := sqlite.Open(c, filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Append(c, fixtureEvents(t)); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC) }
	s, err := New(Config{}, &Options{Events: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	var evs Events
	if e := call(t, cs, "waf_events", map[string]any{"rule_id": "942100"}, &evs); e != "" || evs.Matched != 2 ||
		evs.Events[0].AnomalyScore != 5 || evs.Events[0].Action != "blocked" || evs.Logs[0] != "mcpsoc store (event.module:modsecurity)" {
		t.Fatalf("store: %q %+v", e, evs)
	}
	if e := call(t, cs, "waf_events", map[string]any{"client_ip": "127.0.0.1", "min_anomaly_score": 15}, &evs); e != "" || evs.Matched != 2 {
		t.Fatalf("store score: %q matched %d", e, evs.Matched)
	}
	var rs RuleStats
	if e := call(t, cs, "rule_stats", nil, &rs); e != "" || rs.Events != 4 || rs.Rules[0].ID != "942100" || rs.Rules[0].Hits != 2 {
		t.Fatalf("rule_stats: %q %+v", e, rs)
	}
	// Outside the default 24h window nothing is read.
	s2, _ := New(Config{}, &Options{Events: st, Now: func() time.Time { return now().Add(72 * time.Hour) }})
	if e := call(t, connect(t, s2), "waf_events", nil, &evs); e != "" || evs.Matched != 0 {
		t.Fatalf("window: %q %+v", e, evs)
	}
}

// TestFixtureFromFile reads the same records straight from the file.
func TestFixtureFromFile(t *testing.T) {
	s, err := New(Config{AuditLogs: []string{fixture}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var top TopURIs
	if e := call(t, connect(t, s), "top_attacked_uris", nil, &top); e != "" || top.Events != 4 || len(top.URIs) != 1 ||
		top.URIs[0].Path != "/index.html" || top.URIs[0].Blocked != 4 || top.URIs[0].MaxScore != 30 || !slices.Contains(top.URIs[0].TopRules, "942100") {
		t.Fatalf("top: %q %+v", e, top)
	}
}

// TestProposeFromTransaction derives the exclusion from a recorded false
// positive: the rule, the path and the variable it matched.
func TestProposeFromTransaction(t *testing.T) {
	s, err := New(Config{AuditLogs: []string{fixture}, ExclusionsDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	var evs Events
	if e := call(t, cs, "waf_events", map[string]any{"uri_contains": "xid="}, &evs); e != "" || evs.Matched != 1 {
		t.Fatalf("events: %q %+v", e, evs)
	}
	var res ExclusionResult
	if e := call(t, cs, "propose_exclusion", map[string]any{"transaction_id": evs.Events[0].ID, "reason": "xid is free text"}, &res); e != "" ||
		!strings.Contains(res.Snippet, `SecRule REQUEST_URI "@beginsWith /index.html" "id:10000,phase:1,pass,nolog,ctl:ruleRemoveTargetById=942100;ARGS:xid"`) {
		t.Fatalf("derived: %q %+v", e, res)
	}
	// A caller's field wins over the derived one.
	if e := call(t, cs, "propose_exclusion", map[string]any{"transaction_id": evs.Events[0].ID, "path": "/"}, &res); e != "" ||
		!strings.Contains(res.Snippet, `"@beginsWith /" `) {
		t.Fatalf("path given: %q %+v", e, res)
	}
	if e := call(t, cs, "waf_events", map[string]any{"rule_id": "941100"}, &evs); e != "" || evs.Matched != 1 {
		t.Fatalf("xss: %q", e)
	}
	if e := call(t, cs, "propose_exclusion", map[string]any{"transaction_id": evs.Events[0].ID}, nil); !strings.Contains(e, "matched rules 941100, 941110, 941160: give rule_id") {
		t.Fatalf("several rules: %q", e)
	}
	if e := call(t, cs, "propose_exclusion", map[string]any{"transaction_id": evs.Events[0].ID, "rule_id": "941110"}, &res); e != "" || !strings.Contains(res.Snippet, "ruleRemoveTargetById=941110;ARGS:q") {
		t.Fatalf("one of several: %q %+v", e, res)
	}
	for _, tc := range []struct{ id, rule, want string }{
		{"nope", "", "is not in"},
		{evs.Events[0].ID, "942100", "did not match in transaction"},
		{"a b", "", "not a transaction id"},
	} {
		if e := call(t, cs, "propose_exclusion", map[string]any{"transaction_id": tc.id, "rule_id": tc.rule}, nil); !strings.Contains(e, tc.want) {
			t.Errorf("%s %s: %q", tc.id, tc.rule, e)
		}
	}
}
