package scan

import (
	"bytes"
	"encoding/json"
	"time"
)

// eventSeverity maps severities to OCSF severity ids (1 informational … 5
// critical), which the SOC's events use.
var eventSeverity = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// Events renders findings as NDJSON events for the SOC's ingest API: ECS
// field names (event.*, rule.*, host.hostname, message, @timestamp) plus
// the MCP location under mcp.*. One finding is one line.
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
		ev := map[string]any{
			"@timestamp": ts.Format(time.RFC3339Nano),
			"message":    msg,
			"event": map[string]any{
				"kind": "alert", "module": "mcpsoc", "dataset": "mcpsoc.scan", "provider": "mcpsoc-scan",
				"category": []string{"configuration"}, "type": []string{"info"},
				"severity": eventSeverity[string(f.Severity)],
			},
			"rule": map[string]any{"id": f.RuleID, "name": f.Title, "category": f.Category, "ruleset": "owasp-mcp " + f.OWASP},
			"host": map[string]any{"hostname": hostname},
			"mcp": map[string]any{
				"client": f.Client, "scope": f.Scope, "file": f.File,
				"server": f.Location.Server, "kind": f.Location.Kind, "object": f.Location.Object, "path": f.Location.Path,
				"tier": string(f.Tier), "severity": string(f.Severity), "owasp": f.OWASP, "evidence": f.Evidence,
			},
		}
		if err := enc.Encode(ev); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
