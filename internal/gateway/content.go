package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// toolHash is the SHA-256 of a tool's whole definition as the upstream
// lists it (name, title, description, schemas, annotations, _meta), so a
// change anywhere, not only in the description, is a change.
func toolHash(t *mcp.Tool) string {
	b, _ := json.Marshal(t)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// guard holds the content-security state for the catalog: first-seen
// definition hashes (trust on first use) and scan verdicts. It is safe for
// concurrent use.
type guard struct {
	cfg      ContentConfig
	analyzer *mcpsec.Analyzer
	blockAt  int // severity rank at or above which a hard finding blocks
	record   func(audit.Event)

	mu      sync.Mutex
	pins    map[string]string // "upstream.tool" -> hash first seen
	scanned map[string]string // upstream -> signature of the tool set last scanned
	blocked map[string]string // "upstream.tool" -> reason, from the last scan
}

func newGuard(cfg ContentConfig, record func(audit.Event)) (*guard, error) {
	sev, err := mcpsec.ParseSeverity(cfg.BlockSeverity)
	if err != nil {
		return nil, err
	}
	g := &guard{cfg: cfg, analyzer: mcpsec.New(nil), blockAt: sev.Rank(), record: record,
		pins: map[string]string{}, scanned: map[string]string{}, blocked: map[string]string{}}
	if cfg.PinFile != "" {
		data, err := os.ReadFile(cfg.PinFile)
		switch {
		case err == nil:
			if err := json.Unmarshal(data, &g.pins); err != nil {
				return nil, fmt.Errorf("reading pin file %s: %w", cfg.PinFile, err)
			}
		case !os.IsNotExist(err):
			return nil, fmt.Errorf("reading pin file: %w", err)
		}
	}
	return g, nil
}

// review returns the quarantine and block reasons for a fresh catalog:
// tools whose definition differs from the pinned one, and tools the
// analyzers found poisoned. It pins tools seen for the first time.
func (g *guard) review(ctx context.Context, list []mcpx.Tool) map[string]string {
	out := map[string]string{}
	byServer := map[string][]mcpx.Tool{}
	g.mu.Lock()
	defer g.mu.Unlock()
	newPins := false
	for _, t := range list {
		byServer[t.Server] = append(byServer[t.Server], t)
		if g.cfg.Pin == "off" {
			continue
		}
		h := toolHash(t.Tool)
		switch old, ok := g.pins[t.Name]; {
		case !ok:
			g.pins[t.Name] = h
			newPins = true
		case old != h:
			reason := fmt.Sprintf("definition changed since it was first seen (pinned %s, now %s): quarantined until an operator re-pins it", old[:12], h[:12])
			out[t.Name] = reason
			g.record(audit.Event{Kind: "gateway.quarantine", Upstream: t.Server, Tool: t.Tool.Name, Decision: "deny", Reason: reason,
				Detail: mustJSON(map[string]string{"pinned": old, "seen": h})})
		}
	}
	if newPins && g.cfg.PinFile != "" {
		if err := writePins(g.cfg.PinFile, g.pins); err != nil {
			g.record(audit.Event{Kind: "gateway.error", Decision: "error", Reason: "writing pin file: " + err.Error()})
		}
	}
	if g.cfg.ToolScan != "off" {
		for server, tools := range byServer {
			sig := toolSetSignature(tools)
			if g.scanned[server] == sig {
				continue
			}
			g.scanned[server] = sig
			for name := range g.blocked {
				if strings.HasPrefix(name, server+".") {
					delete(g.blocked, name)
				}
			}
			g.scan(ctx, server, tools)
		}
		for name, reason := range g.blocked {
			if _, ok := out[name]; !ok {
				out[name] = reason
			}
		}
	}
	return out
}

func (g *guard) scan(ctx context.Context, server string, tools []mcpx.Tool) {
	s := &mcpsec.Server{Name: server}
	for _, t := range tools {
		b, err := json.Marshal(t.Tool)
		if err != nil {
			continue
		}
		var mt mcpsec.Tool
		if json.Unmarshal(b, &mt) == nil {
			s.Tools = append(s.Tools, mt)
		}
	}
	findings, _ := g.analyzer.AnalyzeServer(ctx, s)
	for _, f := range findings {
		tool := f.Location.Tool()
		block := g.cfg.ToolScan == "block" && f.Tier == mcpsec.TierHard && f.Severity.Rank() >= g.blockAt && tool != ""
		decision := "flag"
		if block {
			decision = "deny"
			if _, done := g.blocked[server+"."+tool]; !done {
				g.blocked[server+"."+tool] = fmt.Sprintf("tool definition failed the security scan (%s: %s)", f.RuleID, f.Title)
			}
		}
		g.record(audit.Event{Kind: "gateway.scan", Upstream: server, Tool: tool, Decision: decision,
			Reason: f.RuleID + ": " + f.Title, Detail: mustJSON(f)})
	}
}

func toolSetSignature(tools []mcpx.Tool) string {
	hs := make([]string, 0, len(tools))
	for _, t := range tools {
		hs = append(hs, t.Name+"="+toolHash(t.Tool))
	}
	sort.Strings(hs)
	s := sha256.Sum256([]byte(strings.Join(hs, "\n")))
	return hex.EncodeToString(s[:])
}

func writePins(path string, pins map[string]string) error {
	b, err := json.MarshalIndent(pins, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// responseSecret finds credentials in tool output. Each alternative is a
// shape with a distinctive prefix, so prose does not trigger it.
var responseSecret = regexp.MustCompile(`sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`)

// scanResponse applies the response mode to res: it returns the result to
// send and, when a secret was found, a reason for the audit record.
func scanResponse(mode string, res *mcp.CallToolResult) (*mcp.CallToolResult, string) {
	if mode == "off" || res == nil {
		return res, ""
	}
	found := 0
	for _, c := range res.Content {
		switch x := c.(type) {
		case *mcp.TextContent:
			found += len(responseSecret.FindAllStringIndex(x.Text, -1))
		case *mcp.EmbeddedResource:
			if x.Resource != nil {
				found += len(responseSecret.FindAllStringIndex(x.Resource.Text, -1))
			}
		}
	}
	var structured []byte
	if res.StructuredContent != nil {
		structured, _ = json.Marshal(res.StructuredContent)
		found += len(responseSecret.FindAllIndex(structured, -1))
	}
	if found == 0 {
		return res, ""
	}
	reason := fmt.Sprintf("response carried %d secret(s)", found)
	if mode == "block" {
		return toolError("the tool's response was withheld by the gateway: it contained %d credential(s)", found), reason + "; blocked"
	}
	out := *res
	out.Content = make([]mcp.Content, len(res.Content))
	for i, c := range res.Content {
		switch x := c.(type) {
		case *mcp.TextContent:
			cp := *x
			cp.Text = responseSecret.ReplaceAllString(x.Text, "[REDACTED:secret]")
			out.Content[i] = &cp
		case *mcp.EmbeddedResource:
			if x.Resource != nil {
				rc := *x.Resource
				rc.Text = responseSecret.ReplaceAllString(rc.Text, "[REDACTED:secret]")
				cp := *x
				cp.Resource = &rc
				out.Content[i] = &cp
				continue
			}
			out.Content[i] = c
		default:
			out.Content[i] = c
		}
	}
	if structured != nil {
		var v any
		if json.Unmarshal(responseSecret.ReplaceAll(structured, []byte("[REDACTED:secret]")), &v) == nil {
			out.StructuredContent = v
		} else {
			out.StructuredContent = nil
		}
	}
	return &out, reason + "; redacted"
}
