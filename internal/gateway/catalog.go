package gateway

import (
	"context"
	"errors"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Prompts and resources pass through for callers the policy lets use the
// upstream at all (some allow rule matches them and the upstream); their
// text goes through the same response scanning as tool results. Prompt
// names are namespaced like tools on the aggregated endpoint; resource URIs
// are not, and a read is routed to the upstream that lists the URI.

func (f *front) listPrompts(ctx context.Context, p *Principal, req mcp.Request) *mcp.ListPromptsResult {
	res := &mcp.ListPromptsResult{Prompts: []*mcp.Prompt{}}
	for _, pr := range f.g.mgr.Prompts() {
		if (f.only != "" && pr.Server != f.only) || !f.g.policy.CanUseUpstream(p, pr.Server) {
			continue
		}
		c := *pr.Prompt
		if f.only == "" {
			c.Name = pr.Name
		}
		res.Prompts = append(res.Prompts, &c)
	}
	f.g.record(ctx, audit.Event{Kind: "gateway.list", Subject: p.Subject, Session: sessionID(req), Method: "prompts/list", Upstream: f.only, Decision: "allow"})
	return res
}

func (f *front) getPrompt(ctx context.Context, p *Principal, req *mcp.GetPromptRequest) (mcp.Result, error) {
	start := f.g.now()
	name := req.Params.Name
	if f.only != "" {
		name = f.only + "." + name
	}
	upstream, prompt, _ := mcpx.SplitName(name)
	ev := audit.Event{Kind: "gateway.prompt", Subject: p.Subject, Session: sessionID(req), Method: "prompts/get", Upstream: upstream, Tool: prompt}
	if upstream == "" || !f.g.policy.CanUseUpstream(p, upstream) {
		ev.Decision, ev.Reason = "deny", "unknown or unlisted prompt"
		f.g.record(ctx, ev)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown prompt: " + req.Params.Name}
	}
	res, err := f.g.mgr.GetPrompt(ctx, name, req.Params.Arguments)
	ev.LatencyMicros = f.g.now().Sub(start).Microseconds()
	if err != nil {
		ev.Decision, ev.Reason = "error", "upstream failed"
		f.g.record(context.WithoutCancel(ctx), ev)
		if errors.Is(err, mcpx.ErrUnknownServer) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown prompt: " + req.Params.Name}
		}
		return nil, upstreamError(err)
	}
	if f.g.cfg.Content.Responses != "off" {
		for _, m := range res.Messages {
			if tc, ok := m.Content.(*mcp.TextContent); ok && responseSecret.MatchString(tc.Text) {
				if f.g.cfg.Content.Responses == "block" {
					ev.Decision, ev.Reason = "deny", "prompt carried a secret; blocked"
					f.g.record(ctx, ev)
					return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "prompt withheld by the gateway: it contained a credential"}
				}
				tc.Text = responseSecret.ReplaceAllString(tc.Text, "[REDACTED:secret]")
				ev.Reason = "prompt carried a secret; redacted"
			}
		}
	}
	ev.Decision = "allow"
	f.g.record(ctx, ev)
	return res, nil
}

func (f *front) listResources(ctx context.Context, p *Principal, req mcp.Request) *mcp.ListResourcesResult {
	res := &mcp.ListResourcesResult{Resources: []*mcp.Resource{}}
	for _, r := range f.g.mgr.Resources() {
		if (f.only != "" && r.Server != f.only) || !f.g.policy.CanUseUpstream(p, r.Server) {
			continue
		}
		res.Resources = append(res.Resources, r.Resource)
	}
	f.g.record(ctx, audit.Event{Kind: "gateway.list", Subject: p.Subject, Session: sessionID(req), Method: "resources/list", Upstream: f.only, Decision: "allow"})
	return res
}

func (f *front) readResource(ctx context.Context, p *Principal, req *mcp.ReadResourceRequest) (mcp.Result, error) {
	start := f.g.now()
	uri := req.Params.URI
	upstream := f.only
	if upstream == "" {
		for _, r := range f.g.mgr.Resources() {
			if r.Resource.URI == uri && f.g.policy.CanUseUpstream(p, r.Server) {
				upstream = r.Server
				break
			}
		}
	}
	ev := audit.Event{Kind: "gateway.resource", Subject: p.Subject, Session: sessionID(req), Method: "resources/read", Upstream: upstream,
		Detail: mustJSON(map[string]string{"uri": uri})}
	notFound := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Resource not found: " + uri}
	if upstream == "" || !f.g.policy.CanUseUpstream(p, upstream) {
		ev.Decision, ev.Reason = "deny", "unknown or unlisted resource"
		f.g.record(ctx, ev)
		return nil, notFound
	}
	res, err := f.g.mgr.ReadResource(ctx, upstream, uri)
	ev.LatencyMicros = f.g.now().Sub(start).Microseconds()
	if err != nil {
		ev.Decision, ev.Reason = "error", "upstream failed"
		f.g.record(context.WithoutCancel(ctx), ev)
		var we *jsonrpc.Error
		if errors.As(err, &we) && we.Code == jsonrpc.CodeInvalidParams {
			return nil, notFound
		}
		return nil, upstreamError(err)
	}
	if f.g.cfg.Content.Responses != "off" {
		for _, c := range res.Contents {
			if c != nil && responseSecret.MatchString(c.Text) {
				if f.g.cfg.Content.Responses == "block" {
					ev.Decision, ev.Reason = "deny", "resource carried a secret; blocked"
					f.g.record(ctx, ev)
					return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "resource withheld by the gateway: it contained a credential"}
				}
				c.Text = responseSecret.ReplaceAllString(c.Text, "[REDACTED:secret]")
				ev.Reason = "resource carried a secret; redacted"
			}
		}
	}
	ev.Decision = "allow"
	f.g.record(ctx, ev)
	return res, nil
}

// upstreamError hides internal error text from the client behind an id
// that the log carries with the details.
func upstreamError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "upstream request failed"}
}
