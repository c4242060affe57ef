package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/pin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// guard holds the content-security state for the catalog: tool pins
// (lockfile or first seen), signature verdicts, scan verdicts and the
// current quarantine. It is safe for concurrent use.
type guard struct {
	cfg      ContentConfig
	analyzer *mcpsec.Analyzer
	blockAt  int // severity rank at or above which a hard finding blocks
	record   func(audit.Event)
	now      func() time.Time

	mu         sync.Mutex
	pins       *pinStore
	sigs       map[string]sigState      // upstream -> signature verdict
	hashes     map[*mcp.Tool]pin.Object // canonical pins of the current catalog
	quarantine map[string]*Quarantined  // "upstream.tool" -> why it is held
	flagged    map[string]string        // signature findings already audited (name -> seen hash)
	scanned    map[string]string        // upstream -> signature of the tool set last scanned
	blocked    map[string]string        // "upstream.tool" -> reason, from the last scan
}

func newGuard(cfg ContentConfig, upstreams []config.MCPServer, now func() time.Time, record func(audit.Event)) (*guard, error) {
	sev, err := mcpsec.ParseSeverity(cfg.BlockSeverity)
	if err != nil {
		return nil, err
	}
	ps, err := newPinStore(cfg, upstreams)
	if err != nil {
		return nil, err
	}
	sigs, err := verifyManifests(cfg.Signatures, upstreams)
	if err != nil {
		return nil, err
	}
	g := &guard{cfg: cfg, analyzer: mcpsec.New(nil), blockAt: sev.Rank(), record: record, now: now, pins: ps, sigs: sigs,
		hashes: map[*mcp.Tool]pin.Object{}, quarantine: map[string]*Quarantined{}, flagged: map[string]string{},
		scanned: map[string]string{}, blocked: map[string]string{}}
	for _, u := range upstreams {
		st, ok := sigs[u.Name]
		if !ok {
			continue
		}
		ev := audit.Event{Kind: "gateway.signature", Upstream: u.Name, Decision: "allow", Reason: "manifest signature verified"}
		if st.problem != "" {
			ev.Decision, ev.Reason = "flag", st.problem
			if cfg.Signatures.Mode == "require" {
				ev.Decision = "deny"
			}
		}
		record(ev)
	}
	return g, nil
}

// hash returns the canonical pin of a catalog tool (cached per catalog).
func (g *guard) hash(t *mcp.Tool) string {
	g.mu.Lock()
	o, ok := g.hashes[t]
	g.mu.Unlock()
	if !ok {
		o, _ = pinTool(t)
	}
	return o.SHA256
}

// review returns the quarantine and block reasons for a fresh catalog:
// tools that fail signature checks, differ from their pin (or are missing
// from the lockfile), and tools the analyzers found poisoned. In first-seen
// mode it pins tools seen for the first time.
func (g *guard) review(ctx context.Context, list []mcpx.Tool) map[string]string {
	out := map[string]string{}
	byServer := map[string][]mcpx.Tool{}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.pins.reloadIfChanged(); err != nil {
		g.record(audit.Event{Kind: "gateway.error", Decision: "error", Reason: "re-reading the lockfile (keeping the previous pins): " + err.Error()})
	}
	hashes := make(map[*mcp.Tool]pin.Object, len(list))
	next := map[string]*Quarantined{}
	dirty := false
	sigMode := g.cfg.Signatures.Mode
	for _, t := range list {
		byServer[t.Server] = append(byServer[t.Server], t)
		obj, ok := g.hashes[t.Tool]
		if !ok {
			var err error
			if obj, err = pinTool(t.Tool); err != nil {
				out[t.Name] = "tool definition cannot be canonicalized: " + err.Error()
				continue
			}
		}
		hashes[t.Tool] = obj
		if sigMode != "off" {
			if problem := g.signatureProblem(t, obj); problem != "" {
				if sigMode == "require" {
					next[t.Name] = &Quarantined{Name: t.Name, Upstream: t.Server, Tool: t.Tool.Name, Kind: "signature", Seen: obj.SHA256,
						Reason: "upstream refused: " + problem}
					continue
				}
				if g.flagged[t.Name] != obj.SHA256 {
					g.flagged[t.Name] = obj.SHA256
					g.record(audit.Event{Kind: "gateway.signature", Upstream: t.Server, Tool: t.Tool.Name, Decision: "flag", Reason: problem})
				}
			}
		}
		if g.cfg.Pin != "off" {
			if q := g.pins.check(t.Server, t.Tool.Name, obj, &dirty); q != nil {
				q.obj = obj
				next[t.Name] = q
			}
		}
	}
	for name, q := range next {
		if old := g.quarantine[name]; old != nil && old.Seen == q.Seen && old.Kind == q.Kind {
			q.Since = old.Since
		} else {
			q.Since = g.now()
			detail := map[string]string{"kind": q.Kind, "seen": q.Seen}
			if q.Pinned != "" {
				detail["pinned"] = q.Pinned
			}
			if q.Diff != "" {
				detail["diff"] = truncate(q.Diff, 2000)
			}
			g.record(audit.Event{Kind: "gateway.quarantine", Upstream: q.Upstream, Tool: q.Tool, Decision: "deny", Reason: q.Reason,
				Detail: mustJSON(detail)})
		}
		out[name] = q.Reason
	}
	g.quarantine, g.hashes = next, hashes
	if dirty {
		if err := g.pins.save(); err != nil {
			g.record(audit.Event{Kind: "gateway.error", Decision: "error", Reason: "writing pin file: " + err.Error()})
		}
	}
	if g.cfg.ToolScan != "off" {
		for server, tools := range byServer {
			sig := g.setSignature(tools)
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

// signatureProblem says why a tool does not match its upstream's verified
// manifest ("" when it does).
func (g *guard) signatureProblem(t mcpx.Tool, obj pin.Object) string {
	st := g.sigs[t.Server]
	switch {
	case st.problem != "":
		return st.problem
	case st.manifest == nil:
		return "no verified manifest"
	}
	want, ok := st.manifest.Tools[t.Tool.Name]
	switch {
	case !ok:
		return "tool is not in the signed manifest"
	case want != obj.SHA256:
		return fmt.Sprintf("definition differs from the signed manifest (signed %s, now %s)", want[:min(12, len(want))], obj.SHA256[:12])
	}
	return ""
}

// quarantined lists the tools currently held back.
func (g *guard) quarantined() []Quarantined {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Quarantined, 0, len(g.quarantine))
	for _, q := range g.quarantine {
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Errors of approveTool.
var (
	ErrNotQuarantined = errors.New("tool is not quarantined")
	ErrNotApprovable  = errors.New("a signature refusal cannot be approved; publish a valid signed manifest")
)

// approveTool accepts the definition of a quarantined tool as now seen: it
// is pinned (and written to the lockfile or pin file) and offered again.
func (g *guard) approveTool(name, approver string) (Quarantined, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	q, ok := g.quarantine[name]
	if !ok {
		return Quarantined{}, ErrNotQuarantined
	}
	if !q.Approvable {
		return *q, ErrNotApprovable
	}
	if err := g.pins.approve(q.Upstream, q.Tool, q.obj); err != nil {
		return *q, fmt.Errorf("writing %s: %w", g.pins.path, err)
	}
	delete(g.quarantine, name)
	g.record(audit.Event{Kind: "gateway.quarantine", Subject: approver, Upstream: q.Upstream, Tool: q.Tool, Decision: "allow",
		Reason: "definition approved by " + approver, Detail: mustJSON(map[string]string{"kind": q.Kind, "seen": q.Seen})})
	return *q, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (g *guard) scan(ctx context.Context, server string, tools []mcpx.Tool) {
	s := &mcpsec.Server{Name: server}
	for _, t := range tools {
		if mt, err := secTool(t.Tool); err == nil {
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

// setSignature identifies a set of tool definitions; g.mu is held.
func (g *guard) setSignature(tools []mcpx.Tool) string {
	hs := make([]string, 0, len(tools))
	for _, t := range tools {
		hs = append(hs, t.Name+"="+g.hashes[t.Tool].SHA256)
	}
	sort.Strings(hs)
	s := sha256.Sum256([]byte(strings.Join(hs, "\n")))
	return hex.EncodeToString(s[:])
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

// secretPrefixes are literals every responseSecret match contains: text
// without any of them cannot match, and most results are checked with
// these fast scans alone.
var secretPrefixes = [][]byte{[]byte("sk-"), []byte("ghp_"), []byte("gho_"), []byte("ghu_"), []byte("ghs_"), []byte("ghr_"),
	[]byte("github_pat_"), []byte("xox"), []byte("AKIA"), []byte("ASIA"), []byte("AIza"), []byte("eyJ"), []byte("PRIVATE KEY-----")}

// mayHoldSecret reports whether b can contain a responseSecret match, by
// the regular expression only when a literal of it is present.
func mayHoldSecret(b []byte) bool {
	for _, p := range secretPrefixes {
		if bytes.Contains(b, p) {
			return responseSecret.Match(b)
		}
	}
	return false
}

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

// toolSetSignature identifies what a set of tools looks like, to notice
// changes clients must be told about.
func toolSetSignature(tools []mcpx.Tool, hash func(*mcp.Tool) string) string {
	hs := make([]string, 0, len(tools))
	for _, t := range tools {
		hs = append(hs, t.Name+"="+hash(t.Tool))
	}
	sort.Strings(hs)
	s := sha256.Sum256([]byte(strings.Join(hs, "\n")))
	return hex.EncodeToString(s[:])
}
