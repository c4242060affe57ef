package soc_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/servers/intel"
	"github.com/mcpsoc/mcpsoc/internal/servers/soc"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func call(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (map[string]any, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		return map[string]any{"error": res.Content[0].(*mcp.TextContent).Text}, true
	}
	var out map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	json.Unmarshal(b, &out)
	return out, false
}

func TestTools(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Second)
	var evs []*event.Event
	for i, ip := range []string{"203.0.113.7", "203.0.113.7", "198.51.100.2"} {
		ev := &event.Event{Timestamp: now.Add(-time.Duration(i) * time.Minute), Kind: "event", Dataset: "pfsense.filterlog",
			Action: "block", Original: "line " + ip + " " + string(rune('a'+i)), Message: "blocked"}
		ev.Put("source.ip", ip)
		evs = append(evs, ev)
	}
	alert := &event.Event{Timestamp: now, Kind: "alert", Dataset: "mcpsoc.alert", Message: "Port scan", Rule: event.Rule{ID: "r1", Name: "Port scan"}}
	alert.Put("mcpsoc.alert", `{"id":"a1","title":"Port scan","severity_id":4}`)
	alert.Put("related.ip", []string{"203.0.113.7"})
	evs = append(evs, alert)
	if _, err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}

	ct, sst := mcp.NewInMemoryTransports()
	if _, err := soc.New(st, nil, nil).SDK().Connect(ctx, sst, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	tools, _ := cs.ListTools(ctx, nil)
	for _, tool := range tools.Tools {
		if !tool.Annotations.ReadOnlyHint || *tool.Annotations.DestructiveHint {
			t.Errorf("%s is not marked read-only", tool.Name)
		}
	}
	out, isErr := call(t, cs, "search_events", map[string]any{"query": "source.ip:203.0.113.0/24 AND event.action:block", "from": "now-1h"})
	if isErr || len(out["events"].([]any)) != 2 {
		t.Fatalf("search_events: %v", out)
	}
	id := out["events"].([]any)[0].(map[string]any)["id"].(string)
	if out, isErr := call(t, cs, "get_event", map[string]any{"id": id}); isErr || out["id"] != id {
		t.Errorf("get_event: %v", out)
	}
	if out, isErr := call(t, cs, "list_alerts", map[string]any{"query": "related.ip:203.0.113.7"}); isErr || len(out["alerts"].([]any)) != 1 {
		t.Errorf("list_alerts: %v", out)
	}
	for name, args := range map[string]map[string]any{
		"search_events": {"query": "source.ip:("},
		"get_event":     {"id": "../../etc/passwd"},
		"list_alerts":   {"limit": 5000},
	} {
		if out, isErr := call(t, cs, name, args); !isErr || strings.TrimSpace(out["error"].(string)) == "" {
			t.Errorf("%s(%v) should fail with a message: %v", name, args, out)
		}
	}
}

// indicators is an in-memory intel store for the test: exact values only.
type indicators map[string][]intel.Record

func (m indicators) Lookup(_ context.Context, v string) ([]intel.Record, error) { return m[v], nil }

// TestLookupIndicator: the SOC server answers lookup_indicator from the
// intel store it is given, and says so when it has none.
func TestLookupIndicator(t *testing.T) {
	ctx := context.Background()
	connect := func(ind intel.Indicators) *mcp.ClientSession {
		ct, sst := mcp.NewInMemoryTransports()
		if _, err := soc.NewWithIndicators(nil, ind, nil, nil).SDK().Connect(ctx, sst, nil); err != nil {
			t.Fatal(err)
		}
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	cs := connect(indicators{"bad.example.com": {{Type: "domain", Value: "bad.example.com", Sources: []intel.Source{{Name: "feed", Confidence: 85}}}}})
	out, isErr := call(t, cs, "lookup_indicator", map[string]any{"value": "hxxps://cdn.bad[.]example[.]com/x.js"})
	if isErr || out["found"] != true || out["max_confidence"] != 85.0 {
		t.Fatalf("lookup: %v", out)
	}
	m := out["matches"].([]any)[0].(map[string]any)
	if m["relation"] != "parent_domain" || m["value"] != "bad.example.com" {
		t.Errorf("match: %v", m)
	}
	if out, isErr := call(t, cs, "lookup_indicator", map[string]any{"value": "198.51.100.1"}); isErr || out["found"] != false {
		t.Errorf("not found is a normal result: %v", out)
	}
	if out, isErr := call(t, connect(nil), "lookup_indicator", map[string]any{"value": "198.51.100.1"}); !isErr || !strings.Contains(out["error"].(string), "the intel store is not configured") {
		t.Errorf("no store: %v", out)
	}
}
