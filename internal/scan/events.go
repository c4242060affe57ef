package scan

import (
	"bytes"
	"encoding/json"
	"time"
)

// eventSeverity maps severities to OCSF severity ids (1 informational … 5
// critical), which the SOC's events use.
var eventSeverity = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// Events renders findings as NDJSON events for the SOC's ingest API (format
// "ecs"), in the event contract the SOC's MCP rules read (docs/rules.md):
// dataset mcp.scanner, action tool-finding (tool-definition-changed for a
// pinned tool that changed), mcp.server.name, mcp.tool.name, rule.id and
// mcpsoc.severity_id, plus where the finding was made.
func Events(r *Report, hostname string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	ts := r.Generated
	if ts.IsZero() {
		ts = time.Now().UTC()
	}
	for _, f := range r.Findings {
		msg := f.Title
		if f.Location.Server != "" {
			msg += " in " + f.Location.String()
		}
		if f.Evidence != "" {
			msg += ": " + f.Evidence
		}
		action := "tool-finding"
		if f.RuleID == "MCP-LOCK-001" {
			action = "tool-definition-changed"
		}
		sev := eventSeverity[string(f.Severity)]
		mcp := map[string]any{
			"scope": f.Scope, "file": f.File, "kind": f.Location.Kind, "object": f.Location.Object, "path": f.Location.Path,
			"tier": string(f.Tier), "owasp": f.OWASP, "evidence": f.Evidence,
		}
		if f.Client != "" {
			mcp["client"] = map[string]any{"name": f.Client}
		}
		if f.Location.Server != "" {
			mcp["server"] = map[string]any{"name": f.Location.Server}
		}
		if f.Location.Kind == "tool" && f.Location.Object != "" {
			mcp["tool"] = map[string]any{"name": f.Location.Object}
		}
		ev := map[string]any{
			"@timestamp": ts.Format(time.RFC3339Nano),
			"message":    msg,
			"event": map[string]any{
				"kind": "alert", "module": "mcp", "dataset": "mcp.scanner", "action": action, "provider": "mcpsoc-scan",
				"category": []string{"configuration"}, "type": []string{"info"}, "severity": sev,
			},
			"rule":   map[string]any{"id": f.RuleID, "name": f.Title, "category": f.Category, "ruleset": "owasp-mcp " + f.OWASP},
			"host":   map[string]any{"hostname": hostname},
			"mcp":    mcp,
			"mcpsoc": map[string]any{"severity_id": sev},
		}
		if err := enc.Encode(ev); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
