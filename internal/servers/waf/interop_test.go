package waf

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// TestTypeScriptClient runs 'mcpsoc mcp waf' under the official TypeScript
// SDK client (test/peers/client.mjs) over stdio, against the audit log of a
// real nginx + ModSecurity + CRS that blocked an SQL injection.
func TestTypeScriptClient(t *testing.T) {
	node := testenv.Node(t)
	testenv.PeerFile(t, "@modelcontextprotocol/sdk/package.json")
	w := startNginx(t)
	mustGet(t, w.base+sqli, 403)
	waitAudit(t, w.audit, 2)
	bin := testenv.GoBinary(t, "./cmd/mcpsoc")
	script := filepath.Join(testenv.RepoRoot(), "test", "peers", "client.mjs")
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(c, node, script, "stdio", bin, "mcp", "waf", "--audit-log", w.audit)
	cmd.Env = append(os.Environ(), "TOOL=waf_events", `TOOL_ARGS={"rule_id":"942100"}`)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	var r struct {
		ServerInfo struct{ Name string } `json:"serverInfo"`
		Tools      []struct {
			Name        string         `json:"name"`
			Annotations map[string]any `json:"annotations"`
		} `json:"tools"`
		Result struct {
			StructuredContent Events `json:"structuredContent"`
			IsError           bool   `json:"isError"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	if r.ServerInfo.Name != Name || len(r.Tools) != len(allTools) || r.Result.IsError {
		t.Fatalf("session: %s", out)
	}
	for _, tool := range r.Tools {
		if tool.Annotations["readOnlyHint"] != allTools[tool.Name] {
			t.Errorf("%s: annotations %v", tool.Name, tool.Annotations)
		}
	}
	evs := r.Result.StructuredContent
	if evs.Matched != 1 || evs.Events[0].Action != "blocked" || evs.Events[0].AnomalyScore != 5 || !slices.Contains(ids(evs.Events[0]), "942100") {
		t.Fatalf("waf_events through the TS client: %+v", evs)
	}
}
