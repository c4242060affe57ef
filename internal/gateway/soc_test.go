package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// TestSOCForwardingFiresMCPRules: audit records of destructive calls, a
// secret in a response and a changed tool, forwarded to the SOC's real
// ingest handler and bus, raise the MCP-abuse rules of rules/mcp.
func TestSOCForwardingFiresMCPRules(t *testing.T) {
	const key = "soc-ingest-key-0123456789"
	b, err := bus.Open(context.Background(), bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	soc := httptest.NewServer(ingest.NewPipeline(b, nil).PushHandler(ingest.PushOptions{Keys: []config.Secret{config.NewSecret(key)}}))
	defer soc.Close()

	w, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := newSOCForwarder(SOCConfig{URL: soc.URL, APIKey: config.NewSecret(key)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	put := func(ev audit.Event) {
		rec, err := w.Append(ev)
		if err != nil {
			t.Fatal(err)
		}
		f.send(rec)
	}
	for i := 0; i < 12; i++ {
		put(audit.Event{Kind: "gateway.call", Subject: "mallory", Upstream: "fs", Tool: "delete_file", Decision: "allow",
			Detail: mustJSON(map[string]any{"destructive": true}), Remote: "127.0.0.1:5555"})
	}
	put(audit.Event{Kind: "gateway.call", Subject: "alice", Upstream: "everything", Tool: "get-env", Decision: "allow",
		Reason: "response carried 2 secret(s)", Detail: mustJSON(map[string]any{"destructive": false, "secrets": 2})})
	put(audit.Event{Kind: "gateway.quarantine", Upstream: "everything", Tool: "echo", Decision: "deny", Reason: "tool definition changed",
		Detail: mustJSON(map[string]string{"pinned": "aaaa", "seen": "bbbb"})})
	f.close()

	rulesDir := filepath.Join(testenv.RepoRoot(), "rules")
	if _, err := os.Stat(rulesDir); err != nil {
		t.Fatal(err)
	}
	eng, bad, err := detect.Load([]string{rulesDir}, nil, nil)
	if err != nil || len(bad) > 0 {
		t.Fatalf("loading rules: %v %v", err, bad)
	}
	var mu sync.Mutex
	fired := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	seen := 0
	_ = b.Consume(ctx, "detect", 100, func(_ context.Context, batch []bus.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range batch {
			ev := new(event.Event)
			if err := ev.UnmarshalJSON(d.Data); err != nil {
				t.Errorf("forwarded event: %v", err)
				continue
			}
			if ds, _ := ev.Get("event.dataset"); ds != "mcp.gateway" {
				t.Errorf("dataset %v: %s", ds, d.Data)
			}
			for _, a := range eng.Process(ev) {
				fired[a.Rule.Name]++
			}
			seen++
		}
		if seen >= 14 {
			cancel()
		}
		return nil
	})
	for _, rule := range []string{"mcp_destructive_burst", "mcp_secret_in_response", "mcp_rug_pull"} {
		if fired[rule] == 0 {
			t.Errorf("%s did not fire; fired: %v (events seen %d)", rule, fired, seen)
		}
	}
}

func TestECSEventShape(t *testing.T) {
	rec := &audit.Record{Seq: 7, Time: time.Unix(1_800_000_000, 0), Hash: fmt.Sprintf("%064x", 42), Event: audit.Event{
		Kind: "gateway.call", Subject: "", Session: "s1", Upstream: "fs", Tool: "write_file", Decision: "deny", Reason: "policy",
		LatencyMicros: 120, Detail: mustJSON(map[string]any{"destructive": true}), Remote: "[::1]:40000"}}
	b, _ := json.Marshal(ecsEvent(rec))
	var got map[string]any
	json.Unmarshal(b, &got)
	checks := map[string]any{
		"event.action": "tool-call", "event.dataset": "mcp.gateway", "event.module": "mcp", "event.outcome": "failure",
		"mcp.decision": "deny", "mcp.tool.name": "write_file", "mcp.tool.destructive": true, "mcp.server.name": "fs",
		"mcp.session.id": "s1", "user.name": "anonymous", "source.ip": "::1",
	}
	for path, want := range checks {
		var cur any = got
		for _, k := range splitDots(path) {
			cur = cur.(map[string]any)[k]
		}
		if cur != want {
			t.Errorf("%s = %v, want %v (%s)", path, cur, want, b)
		}
	}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
