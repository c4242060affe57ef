package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/config"
)

// SOCConfig sends every audit record to an MCPSoc SOC as an ECS event
// (dataset mcp.gateway), so its MCP-abuse rules see gateway traffic. The
// audit file stays the authority: forwarding is best effort, retried, and
// bounded in memory.
type SOCConfig struct {
	// URL of the SOC's API, e.g. http://127.0.0.1:8080. Empty disables.
	URL string `yaml:"url"`
	// APIKey is an ingest key of the SOC.
	APIKey config.Secret `yaml:"api_key"`
	// Source names the gateway in the SOC's provenance (default gateway).
	Source string `yaml:"source"`
	// QueueSize bounds records waiting to be sent (default 10000); when the
	// SOC is unreachable for long the oldest are dropped and counted.
	QueueSize int `yaml:"queue_size"`
}

// socForwarder batches ECS events and pushes them to the SOC's ingest API.
type socForwarder struct {
	cfg    SOCConfig
	log    *slog.Logger
	client *http.Client

	mu      sync.Mutex
	queue   [][]byte
	dropped int64
	wake    chan struct{}
	done    chan struct{}
	stopped chan struct{}
}

func newSOCForwarder(cfg SOCConfig, log *slog.Logger) *socForwarder {
	if cfg.Source == "" {
		cfg.Source = "gateway"
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	f := &socForwarder{cfg: cfg, log: log.With("soc", cfg.URL), client: &http.Client{Timeout: 30 * time.Second},
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go f.run()
	return f
}

// send queues one record.
func (f *socForwarder) send(rec *audit.Record) {
	line, err := json.Marshal(ecsEvent(rec))
	if err != nil {
		return
	}
	f.mu.Lock()
	if len(f.queue) >= f.cfg.QueueSize {
		f.queue = f.queue[1:]
		f.dropped++
	}
	f.queue = append(f.queue, line)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// close sends what is queued (for up to five seconds) and stops.
func (f *socForwarder) close() {
	close(f.done)
	<-f.stopped
}

func (f *socForwarder) run() {
	defer close(f.stopped)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	delay := 500 * time.Millisecond
	for {
		select {
		case <-f.done:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for f.flush(ctx) == nil && f.pending() > 0 {
			}
			cancel()
			return
		case <-f.wake:
		case <-tick.C:
		}
		if err := f.flush(context.Background()); err != nil {
			f.log.Warn("sending audit events to the SOC failed; will retry", "error", err, "queued", f.pending())
			select {
			case <-f.done:
			case <-time.After(delay):
			}
			delay = min(delay*2, 30*time.Second)
			continue
		}
		delay = 500 * time.Millisecond
	}
}

func (f *socForwarder) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queue)
}

// flush pushes up to 500 queued events. They leave the queue only once the
// SOC answered 200; the idempotency key (the first event's id) makes a
// retry after a lost answer store nothing twice.
func (f *socForwarder) flush(ctx context.Context) error {
	f.mu.Lock()
	n := min(len(f.queue), 500)
	batch := f.queue[:n]
	dropped := f.dropped
	f.dropped = 0
	f.mu.Unlock()
	if dropped > 0 {
		f.log.Error("SOC unreachable for long: audit events dropped from the forwarding queue (the audit file keeps them)", "dropped", dropped)
	}
	if n == 0 {
		return nil
	}
	body := bytes.Join(batch, []byte{'\n'})
	var first struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	_ = json.Unmarshal(batch[0], &first)
	u := strings.TrimRight(f.cfg.URL, "/") + "/api/v1/ingest?" + url.Values{"format": {"ecs"}, "source": {f.cfg.Source}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Idempotency-Key", "gateway-"+first.Event.ID+"-"+fmt.Sprint(n))
	if f.cfg.APIKey.IsSet() {
		req.Header.Set("Authorization", "Bearer "+f.cfg.APIKey.Value())
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("SOC answered %s", resp.Status)
	}
	f.mu.Lock()
	f.queue = f.queue[n:]
	f.mu.Unlock()
	return nil
}

// ecsEvent maps an audit record to the event contract of the MCP rules
// (docs/rules.md): dataset mcp.gateway, the action, decision, subject,
// upstream and tool, and the facts the rules key on.
func ecsEvent(rec *audit.Record) map[string]any {
	ev := map[string]any{
		"@timestamp": rec.Time.UTC().Format(time.RFC3339Nano),
		"message":    rec.Reason,
	}
	event := map[string]any{"module": "mcp", "dataset": "mcp.gateway", "kind": "event",
		"action": strings.TrimPrefix(rec.Kind, "gateway."), "sequence": rec.Seq}
	if len(rec.Hash) >= 32 {
		event["id"] = rec.Hash[:32]
	}
	if rec.LatencyMicros > 0 {
		event["duration"] = rec.LatencyMicros * 1000
	}
	mcp := map[string]any{}
	if rec.Decision != "" {
		mcp["decision"] = rec.Decision
		switch rec.Decision {
		case "allow":
			event["outcome"] = "success"
		default:
			event["outcome"] = "failure"
		}
	}
	if rec.Session != "" {
		mcp["session"] = map[string]any{"id": rec.Session}
	}
	if rec.Upstream != "" {
		mcp["server"] = map[string]any{"name": rec.Upstream}
	}
	tool := map[string]any{}
	if rec.Tool != "" {
		tool["name"] = rec.Tool
	}
	var detail map[string]any
	_ = json.Unmarshal(rec.Detail, &detail)
	switch rec.Kind {
	case "gateway.call":
		event["action"] = "tool-call"
		if d, ok := detail["destructive"].(bool); ok {
			tool["destructive"] = d
		}
		if n, ok := detail["secrets"].(float64); ok && n > 0 {
			mcp["response"] = map[string]any{"secrets": []string{"credential"}, "secret_count": int64(n)}
		}
		if rec.ArgsHash != "" {
			mcp["arguments_hash"] = rec.ArgsHash
		}
	case "gateway.quarantine":
		event["action"], event["kind"] = "tool-definition-changed", "alert"
		if s, ok := detail["seen"].(string); ok {
			tool["hash"] = s
		}
		if s, ok := detail["pinned"].(string); ok {
			tool["previous_hash"] = s
		}
	case "gateway.scan":
		event["action"], event["kind"] = "tool-finding", "alert"
		rule := map[string]any{}
		for _, k := range []string{"RuleID", "rule_id", "id"} {
			if s, ok := detail[k].(string); ok && s != "" {
				rule["id"] = s
				break
			}
		}
		for _, k := range []string{"Title", "title"} {
			if s, ok := detail[k].(string); ok && s != "" {
				rule["name"] = s
				break
			}
		}
		if len(rule) > 0 {
			ev["rule"] = rule
		}
	}
	if len(tool) > 0 {
		mcp["tool"] = tool
	}
	user := rec.Subject
	if user == "" {
		user = "anonymous"
	}
	ev["user"] = map[string]any{"name": user}
	if host, _, err := net.SplitHostPort(rec.Remote); err == nil && host != "" {
		ev["source"] = map[string]any{"ip": host}
	}
	ev["event"] = event
	if len(mcp) > 0 {
		ev["mcp"] = mcp
	}
	return ev
}
