package detect

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"github.com/mcpsoc/mcpsoc/internal/event"
)

const testRules = `
title: SSH connection attempt
id: 11111111-1111-4111-8111-111111111111
name: ssh_attempt
status: test
date: 2026-11-01
modified: 2026-11-20
level: low
tags: [attack.credential-access, attack.t1110.001, attack.T1110, cve.2026-1]
logsource: {category: firewall}
detection:
  sel: {destination.port: 22}
  condition: sel
---
title: SSH brute force
id: 22222222-2222-4222-8222-222222222222
name: ssh_bruteforce
date: 2026-11-02
level: high
tags: [attack.credential_access, attack.t1110]
correlation:
  type: event_count
  rules: [ssh_attempt]
  group-by: [source.ip]
  timespan: 1m
  condition: {gte: 3}
  generate: true
---
title: Telnet
id: 33333333-3333-4333-8333-333333333333
level: medium
logsource: {category: firewall}
detection:
  sel: {destination.port: 23}
  condition: sel
`

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func fwEvent(sec int, src string, port int) *event.Event {
	ev := &event.Event{Timestamp: t0.Add(time.Duration(sec) * time.Second), Dataset: "pfsense.filterlog", Module: "pfsense"}
	ev.Source.IP = mustAddr(src)
	ev.Destination.IP = mustAddr("192.0.2.22")
	ev.Destination.Port = port
	ev.Original = fmt.Sprintf("line %d %s %d", sec, src, port)
	ev.PutString("host.name", "fw")
	return ev
}

func newTestEngine(t *testing.T, opts *Options) *Engine {
	t.Helper()
	rs := sigma.NewRuleset(nil)
	rs.AddFile("rules.yml", []byte(testRules))
	if len(rs.Errors) > 0 {
		t.Fatal(rs.Errors[0])
	}
	corrs, errs := correlate.Parse("rules.yml", []byte(testRules))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if opts == nil {
		opts = &Options{}
	}
	opts.Now = func() time.Time { return t0.Add(time.Hour) }
	e, err := New(rs, corrs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ruleIDs(as []Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Rule.Name+a.Rule.ID[:4])
	}
	return out
}

func TestRuleAlertShape(t *testing.T) {
	e := newTestEngine(t, nil)
	as := e.Process(fwEvent(0, "203.0.113.7", 22))
	if len(as) != 1 {
		t.Fatalf("got %d alerts, want 1", len(as))
	}
	a := as[0]
	want := Alert{
		ID: a.ID, Kind: KindRule, Time: t0, FirstSeen: t0, LastSeen: t0, Created: t0.Add(time.Hour),
		Severity: event.SeverityLow, SeverityName: "low", Title: "SSH connection attempt",
		Rule: RuleRef{ID: "11111111-1111-4111-8111-111111111111", Name: "ssh_attempt", Title: "SSH connection attempt",
			Version: "2026-11-20", Level: "low", Status: "test", File: "rules.yml"},
		Tactics:    []Tactic{{ID: "TA0006", Name: "Credential Access"}},
		Techniques: []string{"T1110.001", "T1110"},
		Tags:       []string{"attack.credential-access", "attack.t1110.001", "attack.T1110", "cve.2026-1"},
		Matched:    []Matched{{Field: "destination.port", Value: int64(22)}},
		EventIDs:   []string{EventID(fwEvent(0, "203.0.113.7", 22))},
		Entities: []Entity{{Type: "ip", Value: "203.0.113.7", Field: "source.ip"}, {Type: "ip", Value: "192.0.2.22", Field: "destination.ip"},
			{Type: "host", Value: "fw", Field: "host.name"}},
		Count:    1,
		DedupKey: a.DedupKey,
	}
	if d := cmp.Diff(want, a); d != "" {
		t.Fatalf("alert (-want +got):\n%s", d)
	}
	if len(a.ID) != 27 || len(a.DedupKey) != 24 || a.EventIDs[0][:7] != "sha256:" {
		t.Fatalf("id %q dedup %q event id %q", a.ID, a.DedupKey, a.EventIDs[0])
	}
	// JSON round trip keeps the documented keys.
	b, _ := json.Marshal(a)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "kind", "time", "severity_id", "severity", "rule", "tactics", "techniques", "matched", "event_ids", "entities", "dedup_key"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
}

func TestEventIDPrefersEventID(t *testing.T) {
	ev := fwEvent(0, "203.0.113.7", 22)
	ev.PutString("event.id", "evt-42")
	if got := EventID(ev); got != "evt-42" {
		t.Fatalf("EventID = %q", got)
	}
	a, b := EventID(fwEvent(0, "203.0.113.7", 22)), EventID(fwEvent(1, "203.0.113.7", 22))
	if a == b || a != EventID(fwEvent(0, "203.0.113.7", 22)) {
		t.Fatalf("content hash not stable/distinct: %q %q", a, b)
	}
	if got := EventID(sigma.MapEvent{"event.original": "x"}); got != "sha256:2d711642b726b04401627ca9fbac32f5" {
		t.Fatalf("map event id %q", got)
	}
}

func TestCorrelationAlertCarriesEvidence(t *testing.T) {
	e := newTestEngine(t, &Options{DedupWindow: -1})
	var all []Alert
	for i := 0; i < 3; i++ {
		all = append(all, e.Process(fwEvent(i*10, "203.0.113.7", 22))...)
	}
	// generate: true keeps the base alerts; dedup is off.
	if d := cmp.Diff([]string{"ssh_attempt1111", "ssh_attempt1111", "ssh_bruteforce2222", "ssh_attempt1111"}, ruleIDs(all)); d != "" {
		t.Fatalf("alerts (-want +got):\n%s", d)
	}
	c := all[2]
	if c.Rule.Version != "2026-11-02" {
		t.Errorf("correlation version %q", c.Rule.Version)
	}
	if c.Kind != KindCorrelation || c.Count != 3 || c.Severity != event.SeverityHigh || !c.FirstSeen.Equal(t0) || !c.LastSeen.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("correlation alert %+v", c)
	}
	if len(c.EventIDs) != 3 || c.EventIDs[0] != EventID(fwEvent(0, "203.0.113.7", 22)) || c.EventIDs[2] != EventID(fwEvent(20, "203.0.113.7", 22)) {
		t.Fatalf("event ids %v", c.EventIDs)
	}
	if c.Entities[0] != (Entity{Type: "ip", Value: "203.0.113.7", Field: "source.ip"}) || len(c.Tactics) != 1 || c.Tactics[0].ID != "TA0006" {
		t.Fatalf("entities %v tactics %v", c.Entities, c.Tactics)
	}
	if d := cmp.Diff([]Matched{{Field: "source.ip", Value: "203.0.113.7"}}, c.Matched); d != "" {
		t.Fatal(d)
	}
}

func TestDedupWindow(t *testing.T) {
	e := newTestEngine(t, &Options{DedupWindow: time.Minute})
	n := 0
	for _, sec := range []int{0, 30, 59, 61, 90, 125} {
		for _, a := range e.Process(fwEvent(sec, "203.0.113.9", 23)) {
			if a.Rule.ID[:4] == "3333" {
				n++
			}
		}
	}
	// Raised at 0, 61 and 125 (last raised + window), the three others
	// collapse.
	if n != 3 || e.Stats().Deduplicated != 3 {
		t.Fatalf("raised %d, deduplicated %d", n, e.Stats().Deduplicated)
	}
	// Another source is another key.
	if got := e.Process(fwEvent(126, "203.0.113.10", 23)); len(got) != 1 {
		t.Fatalf("other source: %d alerts", len(got))
	}
}

func TestSuppressionsAndModes(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		src  string
		want []string
	}{
		{"none", Options{}, "10.1.2.3", []string{"3333"}},
		{"cidr by id", Options{Suppressions: []Suppression{{Rule: "33333333-3333-4333-8333-333333333333", Field: "source.ip", Values: []string{"10.0.0.0/8"}}}}, "10.1.2.3", nil},
		{"cidr other address", Options{Suppressions: []Suppression{{Rule: "*", Field: "source.ip", Values: []string{"10.0.0.0/8"}}}}, "11.1.2.3", []string{"3333"}},
		{"glob", Options{Suppressions: []Suppression{{Rule: "*", Field: "host.name", Values: []string{"F*"}}}}, "10.1.2.3", nil},
		{"other rule", Options{Suppressions: []Suppression{{Rule: "ssh_attempt", Field: "source.ip", Values: []string{"10.1.2.3"}}}}, "10.1.2.3", []string{"3333"}},
		{"expired", Options{Suppressions: []Suppression{{Rule: "*", Field: "source.ip", Values: []string{"10.1.2.3"}, Until: t0}}}, "10.1.2.3", []string{"3333"}},
		{"disabled", Options{Modes: map[string]Mode{"33333333-3333-4333-8333-333333333333": ModeDisabled}}, "10.1.2.3", nil},
		{"shadow", Options{Modes: map[string]Mode{"33333333-3333-4333-8333-333333333333": ModeShadow}}, "10.1.2.3", []string{"3333 shadow"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, &tc.opts)
			var got []string
			for _, a := range e.Process(fwEvent(0, tc.src, 23)) {
				s := a.Rule.ID[:4]
				if a.Shadow {
					s += " shadow"
				}
				got = append(got, s)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestDisabledBaseRuleFeedsNoCorrelation(t *testing.T) {
	e := newTestEngine(t, &Options{Modes: map[string]Mode{"ssh_attempt": ModeDisabled}})
	for i := 0; i < 5; i++ {
		if as := e.Process(fwEvent(i, "203.0.113.7", 22)); len(as) != 0 {
			t.Fatalf("event %d: %v", i, ruleIDs(as))
		}
	}
}

func TestBadOptions(t *testing.T) {
	rs := sigma.NewRuleset(nil)
	if _, err := New(rs, nil, &Options{Modes: map[string]Mode{"x": "loud"}}); err == nil {
		t.Fatal("unknown mode accepted")
	}
	if _, err := New(rs, nil, &Options{Suppressions: []Suppression{{Rule: "x"}}}); err == nil {
		t.Fatal("empty suppression accepted")
	}
}

func TestIntelAddedAtRuntime(t *testing.T) {
	set := ioc.NewSet()
	e := newTestEngine(t, &Options{Intel: set})
	if as := e.Process(fwEvent(0, "198.51.100.9", 443)); len(as) != 0 {
		t.Fatalf("before: %v", ruleIDs(as))
	}
	if err := set.Add(ioc.Indicator{Type: ioc.CIDR, Value: "198.51.100.0/24", Confidence: 90, Source: "test"}); err != nil {
		t.Fatal(err)
	}
	as := e.Process(fwEvent(1, "198.51.100.9", 443))
	if len(as) != 1 {
		t.Fatalf("after: %d alerts", len(as))
	}
	a := as[0]
	if a.Kind != KindIOC || a.Rule.ID != IOCRuleID || a.Severity != event.SeverityHigh || a.Indicator.Value != "198.51.100.0/24" ||
		a.Matched[0] != (Matched{Field: "source.ip", Value: "198.51.100.9"}) {
		t.Fatalf("ioc alert %+v", a)
	}
	set.Add(ioc.Indicator{Type: ioc.IP, Value: "192.0.2.22", Expires: t0})
	if as := e.Process(fwEvent(400, "203.0.113.1", 443)); len(as) != 0 {
		t.Fatalf("expired indicator matched: %+v", as)
	}
}

func TestParseAttack(t *testing.T) {
	tac, tech := ParseAttack([]string{"attack.initial_access", "attack.t1190", "attack.initial-access", "attack.t12", "attack.g0001", "attack.impact", "attack.t1059.004", "car.2013-01"})
	want := []Tactic{{"TA0001", "Initial Access"}, {"TA0040", "Impact"}}
	if d := cmp.Diff(want, tac); d != "" {
		t.Fatal(d)
	}
	if d := cmp.Diff([]string{"T1190", "T1059.004"}, tech); d != "" {
		t.Fatal(d)
	}
}
