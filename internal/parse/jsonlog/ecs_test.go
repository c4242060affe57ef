package jsonlog_test

import (
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin"
)

// TestECSFormat: an ECS document keeps its field names; auto detection
// does not pick ecs for foreign JSON.
func TestECSFormat(t *testing.T) {
	line := []byte(`{"@timestamp":"2026-11-21T13:00:00Z","event":{"dataset":"mcp.gateway","action":"tools/call"},"mcp":{"tool":{"name":"delete_file","destructive":true}},"user":{"name":"alice"}}`)
	n, err := parse.New("ecs", nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := n.Parse(line)
	for field, want := range map[string]any{"event.dataset": "mcp.gateway", "mcp.tool.name": "delete_file", "mcp.tool.destructive": true, "user.name": "alice", "event.action": "tools/call"} {
		if got, _ := ev.Get(field); got != want {
			t.Errorf("%s = %v, want %v", field, got, want)
		}
	}
	auto, _ := parse.New("auto", nil)
	if got, _ := auto.Parse(line).Get("event.dataset"); got == "mcp.gateway" {
		t.Error("auto detection treated foreign JSON as ECS")
	}
}
