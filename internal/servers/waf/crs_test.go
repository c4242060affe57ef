package waf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
)

const (
	sqli      = "/index.html?id=1'%20OR%201=1--"
	xss       = "/index.html?q=%3Cscript%3Ealert(1)%3C/script%3E"
	traversal = "/index.html?file=../../etc/passwd"
	benign    = "/index.html?page=2"
	// A notes page whose body legitimately quotes SQL: the false positive.
	notesFP = "/notes/index.html?body=1'%20OR%201=1--"
)

func ids(e Event) []string {
	var out []string
	for _, r := range e.Rules {
		out = append(out, r.ID)
	}
	return out
}

// TestNginxCRS drives a real nginx with ModSecurity v3 and the OWASP CRS:
// attack requests are blocked and the waf server's tools report them with
// the CRS rule ids and anomaly scores; explain_rule agrees with the audit
// log on file and line; an exclusion applied through the server makes
// nginx let the false positive through after the reload, scoped to its
// path and argument; a broken configuration is rolled back.
func TestNginxCRS(t *testing.T) {
	w := startNginx(t)
	mustGet(t, w.base+benign, 200)
	mustGet(t, w.base+sqli, 403)
	mustGet(t, w.base+xss, 403)
	mustGet(t, w.base+traversal, 403)
	mustGet(t, w.base+notesFP, 403)
	// The readiness probe, the benign request and four blocked ones.
	waitAudit(t, w.audit, 6)

	var recs []audit.Event
	s, err := New(Config{AuditLogs: []string{w.audit}, ExclusionsDir: w.excl, EnableApply: true,
		ValidateCommand: w.nginx("-t"), ReloadCommand: w.nginx("-s", "reload")},
		&Options{Audit: func(ev audit.Event) error { recs = append(recs, ev); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)

	var st Status
	if e := call(t, cs, "status", nil, &st); e != "" || st.RuleFiles < 25 || st.Rules < 500 || !strings.HasPrefix(st.RuleSetVersion, "OWASP_CRS/") ||
		len(st.AuditLogs) != 1 || !st.AuditLogs[0].Readable {
		t.Fatalf("status: %q %+v", e, st)
	}
	t.Logf("CRS %s: %d rule files, %d rules", st.RuleSetVersion, st.RuleFiles, st.Rules)

	// Every transaction is there; the benign one matched nothing.
	var evs Events
	if e := call(t, cs, "waf_events", map[string]any{"uri_contains": "page=2"}, &evs); e != "" || evs.Matched != 1 ||
		evs.Events[0].Action != "logged" || evs.Events[0].AnomalyScore != 0 || len(evs.Events[0].Rules) != 0 || evs.Events[0].Status != 200 {
		t.Fatalf("benign: %q %+v", e, evs)
	}
	for _, tc := range []struct {
		name, uri string
		rule      string
		minScore  int
	}{
		{"sqli", sqli, "942100", 5},
		{"xss", xss, "941100", 15},
		{"traversal", traversal, "930100", 15},
	} {
		if e := call(t, cs, "waf_events", map[string]any{"rule_id": tc.rule, "path": "/index.html"}, &evs); e != "" || evs.Matched != 1 {
			t.Fatalf("%s: %q %+v", tc.name, e, evs)
		}
		ev := evs.Events[0]
		if ev.Action != "blocked" || ev.Status != 403 || ev.Client != "127.0.0.1" || ev.AnomalyScore < tc.minScore ||
			!slices.Contains(ids(ev), "949110") || ev.Method != "GET" || ev.Host != "localhost" {
			t.Errorf("%s: %+v", tc.name, ev)
		}
		t.Logf("%s: rules %v, anomaly score %d", tc.name, ids(ev), ev.AnomalyScore)
	}
	// The traversal also fires the other 930 rules.
	if e := call(t, cs, "waf_events", map[string]any{"uri_contains": "etc/passwd"}, &evs); e != "" || !slices.Contains(ids(evs.Events[0]), "930110") || !slices.Contains(ids(evs.Events[0]), "930120") {
		t.Errorf("traversal rules: %q %+v", e, evs)
	}
	if e := call(t, cs, "waf_events", map[string]any{"min_anomaly_score": 10}, &evs); e != "" || evs.Matched != 2 {
		t.Errorf("min score 10: %q matched %d", e, evs.Matched)
	}
	if e := call(t, cs, "waf_events", map[string]any{"blocked_only": true, "client_ip": "127.0.0.1"}, &evs); e != "" || evs.Matched != 4 {
		t.Errorf("blocked from 127.0.0.1: %q matched %d", e, evs.Matched)
	}
	if e := call(t, cs, "waf_events", map[string]any{"client_ip": "192.0.2.1"}, &evs); e != "" || evs.Matched != 0 || evs.Events == nil {
		t.Errorf("other client: %q %+v", e, evs)
	}
	if e := call(t, cs, "waf_events", map[string]any{"since": "1h", "rule_id": "942100"}, &evs); e != "" || evs.Matched != 2 {
		t.Errorf("since 1h: %q matched %d", e, evs.Matched)
	}
	if e := call(t, cs, "waf_events", map[string]any{"until": "1h"}, &evs); e != "" || evs.Matched != 0 {
		t.Errorf("until 1h ago: %q matched %d", e, evs.Matched)
	}

	var top TopURIs
	if e := call(t, cs, "top_attacked_uris", nil, &top); e != "" || top.Events != 4 || len(top.URIs) != 2 ||
		top.URIs[0].Path != "/index.html" || top.URIs[0].Events != 3 || top.URIs[0].Blocked != 3 || top.URIs[1].Path != "/notes/index.html" {
		t.Fatalf("top_attacked_uris: %q %+v", e, top)
	}
	var rs RuleStats
	if e := call(t, cs, "rule_stats", nil, &rs); e != "" || rs.Rules[0].ID != "942100" || rs.Rules[0].Hits != 2 || rs.Rules[0].Blocked != 2 ||
		!slices.Equal(rs.Rules[0].TopPaths, []string{"/index.html", "/notes/index.html"}) || slices.ContainsFunc(rs.Rules, func(r RuleStat) bool { return r.ID == "949110" }) {
		t.Fatalf("rule_stats: %q %+v", e, rs)
	}
	if e := call(t, cs, "rule_stats", map[string]any{"include_verdict_rules": true}, &rs); e != "" || rs.Rules[0].ID != "949110" || rs.Rules[0].Hits != 4 {
		t.Fatalf("rule_stats with verdicts: %q %+v", e, rs.Rules[0])
	}

	// explain_rule reads the same file and line the audit log names.
	if e := call(t, cs, "waf_events", map[string]any{"rule_id": "942100", "path": "/index.html"}, &evs); e != "" {
		t.Fatal(e)
	}
	hit := evs.Events[0].Rules[slices.Index(ids(evs.Events[0]), "942100")]
	var ex Explained
	if e := call(t, cs, "explain_rule", map[string]any{"id": "942100"}, &ex); e != "" {
		t.Fatal(e)
	}
	r := ex.Rule
	if r.File != hit.File || r.Line == 0 || hit.Line != itoa(r.Line) || r.Phase != "2" || r.Severity != "CRITICAL" || r.ParanoiaLevel != 1 ||
		r.Msg != hit.Message || !slices.Contains(r.Tags, "attack-sqli") || r.Operator != "@detectSQLi" || !strings.Contains(r.AnomalyPoints, "anomaly_score") {
		t.Fatalf("explain 942100: %+v vs hit %+v", r, hit)
	}
	if e := call(t, cs, "explain_rule", map[string]any{"id": "942101"}, &ex); e != "" || ex.Rule.ParanoiaLevel != 3 || !strings.HasPrefix(ex.Rule.AnomalyPoints, "tx.anomaly_score_pl3=") {
		t.Errorf("explain 942101 (PL3): %q %+v", e, ex.Rule)
	}
	if e := call(t, cs, "explain_rule", map[string]any{"id": "123456"}, nil); !strings.Contains(e, "not defined") {
		t.Errorf("unknown rule: %q", e)
	}

	// The false positive: propose, then apply an exclusion of 942100 for
	// ARGS:body under /notes/.
	excl := map[string]any{"rule_id": "942100", "path": "/notes/", "target": "ARGS:body", "reason": "notes quote SQL"}
	var prop ExclusionResult
	if e := call(t, cs, "propose_exclusion", excl, &prop); e != "" || !prop.DryRun || prop.Applied || prop.Rule == nil || prop.Rule.ID != "942100" ||
		!strings.Contains(prop.Snippet, `SecRule REQUEST_URI "@beginsWith /notes/" "id:10000,phase:1,pass,nolog,ctl:ruleRemoveTargetById=942100;ARGS:body"`) {
		t.Fatalf("propose: %q %+v", e, prop)
	}
	if _, err := os.Stat(prop.File); !os.IsNotExist(err) {
		t.Fatal("propose wrote the file")
	}
	// The same, derived from the blocked transaction itself.
	if e := call(t, cs, "waf_events", map[string]any{"path": "/notes/"}, &evs); e != "" || evs.Matched != 1 {
		t.Fatalf("notes: %q %+v", e, evs)
	}
	var derived ExclusionResult
	if e := call(t, cs, "propose_exclusion", map[string]any{"transaction_id": evs.Events[0].ID, "path": "/notes/", "reason": "notes quote SQL"}, &derived); e != "" ||
		derived.File != prop.File || !strings.Contains(derived.Snippet, "ctl:ruleRemoveTargetById=942100;ARGS:body") {
		t.Fatalf("from the transaction: %q %+v", e, derived)
	}
	mustGet(t, w.base+notesFP, 403)
	var app ExclusionResult
	if e := call(t, cs, "apply_exclusion", excl, &app); e != "" || !app.Applied || app.File != prop.File || !app.Validate.OK || !app.Reload.OK {
		t.Fatalf("apply: %q %+v", e, app)
	}
	took := waitStatus(t, w.base+notesFP, 200)
	t.Logf("false positive let through %v after apply_exclusion returned (validate %.0f ms, reload %.0f ms)", took, app.Validate.DurationMS, app.Reload.DurationMS)
	mustGet(t, w.base+sqli, 403)                                      // other paths still protected
	mustGet(t, w.base+"/notes/index.html?title=1'%20OR%201=1--", 403) // other arguments too
	if len(recs) != 1 || recs[0].Decision != "allow" || recs[0].Tool != "apply_exclusion" || !strings.Contains(string(recs[0].Detail), "942100") {
		t.Fatalf("audit: %+v", recs)
	}
	var list Exclusions
	if e := call(t, cs, "list_exclusions", nil, &list); e != "" || len(list.Files) != 1 || list.Files[0].File != app.File {
		t.Fatalf("list: %q %+v", e, list)
	}
	if e := call(t, cs, "explain_rule", map[string]any{"id": "942100"}, &ex); e != "" || !slices.Equal(ex.Excluded, []string{app.File}) {
		t.Errorf("explain after apply: %q %+v", e, ex.Excluded)
	}

	// A broken file next to ours makes nginx -t fail: the change is
	// rolled back and nginx keeps running the previous configuration.
	broken := filepath.Join(w.excl, "zz-broken.conf")
	write(t, broken, "SecRule ARGS \"@rx x\" \"phase:2,deny\"\n") // no id: rejected
	e := call(t, cs, "apply_exclusion", map[string]any{"rule_id": "941100", "path": "/notes/"}, nil)
	if !strings.Contains(e, "does not validate") || !strings.Contains(e, "put back") {
		t.Fatalf("broken config: %q", e)
	}
	if fs, _ := filepath.Glob(filepath.Join(w.excl, "mcpsoc-exclusion-941100-*")); len(fs) != 0 {
		t.Fatalf("rolled-back file still there: %v", fs)
	}
	os.Remove(broken)
	mustGet(t, w.base+notesFP, 200)

	// remove_exclusion undoes the change.
	var rm ExclusionResult
	if e := call(t, cs, "remove_exclusion", map[string]any{"file": filepath.Base(app.File)}, &rm); e != "" || !rm.Applied || rm.Replaced != app.Snippet {
		t.Fatalf("remove: %q %+v", e, rm)
	}
	waitStatus(t, w.base+notesFP, 403)
	if e := call(t, cs, "remove_exclusion", map[string]any{"file": "/etc/passwd"}, nil); !strings.Contains(e, "not in the exclusions directory") {
		t.Errorf("remove outside: %q", e)
	}

	// nginx down: the configuration validates but the reload fails, and
	// the file is rolled back.
	w.stop()
	e = call(t, cs, "apply_exclusion", excl, nil)
	if !strings.Contains(e, "reloading the WAF failed") || !strings.Contains(e, "put back") {
		t.Fatalf("nginx down: %q", e)
	}
	if fs, _ := filepath.Glob(filepath.Join(w.excl, "mcpsoc-exclusion-*")); len(fs) != 0 {
		t.Fatalf("file kept while nginx is down: %v", fs)
	}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// TestNginxNativeAuditLog reads libmodsecurity's native serial audit log
// (SecAuditLogFormat Native, sections A to Z) of a real nginx.
func TestNginxNativeAuditLog(t *testing.T) {
	w := startNginxFormat(t, "Native")
	mustGet(t, w.base+benign, 200)
	mustGet(t, w.base+sqli, 403)
	mustGet(t, w.base+traversal, 403)
	s, err := New(Config{AuditLogs: []string{w.audit}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	var evs Events
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e := call(t, cs, "waf_events", map[string]any{"blocked_only": true}, &evs); e != "" {
			t.Fatal(e)
		}
		if evs.Matched >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if evs.Matched != 2 {
		t.Fatalf("blocked: %+v", evs)
	}
	byRule := func(id string) Event {
		for _, e := range evs.Events {
			if slices.Contains(ids(e), id) {
				return e
			}
		}
		t.Fatalf("no event with rule %s: %+v", id, evs.Events)
		return Event{}
	}
	if e := byRule("942100"); e.AnomalyScore != 5 || e.Status != 403 || e.Client != "127.0.0.1" || e.Path != "/index.html" ||
		e.Rules[0].Message != "SQL Injection Attack Detected via libinjection" || e.Rules[0].Line != "46" {
		t.Errorf("sqli: %+v", e)
	}
	if e := byRule("930100"); e.AnomalyScore != 30 || !slices.Contains(ids(e), "930120") {
		t.Errorf("traversal: %+v", e)
	}
	t.Logf("native format: rules %v and %v", ids(byRule("942100")), ids(byRule("930100")))
}
