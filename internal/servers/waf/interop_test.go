package waf

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// TestTypeScriptClient runs 'mcpsoc mcp waf' under the official TypeScript
// SDK client (test/peers/client.mjs) over stdio, against the audit log of a
// real nginx + ModSecurity + CRS that blocked an SQL injection.
func TestTypeScriptClient(t *testing.T) {
	testenv.Node(t)
	w := startNginx(t)
	mustGet(t, w.base+sqli, 403)
	waitAudit(t, w.audit, 2)
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	r := testenv.TSClient(t, []string{"stdio", bin, "mcp", "waf", "--audit-log", w.audit}, nil, "waf_events", map[string]any{"rule_id": "942100"})
	out := r.Raw
	var evs Events
	if err := json.Unmarshal(r.Result.StructuredContent, &evs); err != nil {
		t.Fatalf("waf_events result %s: %v", r.Result.StructuredContent, err)
	}
	if r.ServerInfo.Name != Name || len(r.Tools) != len(allTools) || r.Result.IsError {
		t.Fatalf("session: %s", out)
	}
	for _, tool := range r.Tools {
		if tool.Annotations["readOnlyHint"] != allTools[tool.Name] {
			t.Errorf("%s: annotations %v", tool.Name, tool.Annotations)
		}
	}
	if evs.Matched != 1 || evs.Events[0].Action != "blocked" || evs.Events[0].AnomalyScore != 5 || !slices.Contains(ids(evs.Events[0]), "942100") {
		t.Fatalf("waf_events through the TS client: %+v", evs)
	}
}
