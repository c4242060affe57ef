package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/jsonscan"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A tools/call passes the same checks whichever way it arrives (through the
// SDK server, or on the stateless fast path of fastpath.go): admitCall
// resolves the tool and runs every check before dispatch, and the call's
// audit record is written by finish once, with the outcome.

// toolError is a tool result the model can read, with isError set.
func toolError(format string, a ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, a...)}}}
}

// call is one tools/call under way.
type call struct {
	g     *Gateway
	start time.Time
	ev    audit.Event
	shown string // the tool name as the client sent it
	name  string // upstream.tool
	tool  mcpx.Tool
	args  map[string]any
	raw   json.RawMessage
	destr *bool
}

// finish writes the call's audit record. result is the JSON sent to the
// client (nil when none).
func (c *call) finish(ctx context.Context, result []byte, decision, reason string) {
	c.ev.Decision, c.ev.Reason = decision, reason
	switch {
	case reason == "" && c.destr != nil && *c.destr:
		c.ev.Detail = detailDestructive
	case reason == "" && c.destr != nil:
		c.ev.Detail = detailSafe
	case c.destr != nil || reason != "":
		detail := map[string]any{}
		if c.destr != nil {
			detail["destructive"] = *c.destr
		}
		var secrets int
		if reason != "" {
			if _, err := fmt.Sscanf(reason, "response carried %d secret", &secrets); err == nil && secrets > 0 {
				detail["secrets"] = secrets
			}
		}
		c.ev.Detail = mustJSON(detail)
	}
	c.ev.LatencyMicros = c.g.now().Sub(c.start).Microseconds()
	if result != nil {
		c.ev.ResultBytes, c.ev.ResultHash = int64(len(result)), audit.HashBytes(result)
	}
	c.g.record(ctx, c.ev)
}

// The detail of most call records, encoded once.
var (
	detailDestructive = json.RawMessage(`{"destructive":true}`)
	detailSafe        = json.RawMessage(`{"destructive":false}`)
)

// finishResult audits a result the SDK will encode and returns it.
func (c *call) finishResult(ctx context.Context, res *mcp.CallToolResult, decision, reason string) (mcp.Result, error) {
	var b []byte
	if res != nil {
		b, _ = json.Marshal(res)
	}
	c.finish(ctx, b, decision, reason)
	return res, nil
}

// denial is why admitCall stopped a call: a tool result the model can read,
// or a JSON-RPC error (unknown tool).
type denial struct {
	res      *mcp.CallToolResult
	decision string
	reason   string
	rpcErr   error
}

// admitCall resolves name (as the client sent it to front f) and runs the
// checks: visibility, quarantine and scan blocks, policy, rate limits,
// input schema, approval, audit availability. The denial, if any, has been
// audited except for results, which the caller encodes and passes to
// finish. sdkReq carries the client's session for elicitation; a request
// without one uses the approval queue.
func (f *front) admitCall(ctx context.Context, p *Principal, shown string, raw json.RawMessage, session string, sdkReq *mcp.CallToolRequest) (*call, *denial) {
	g := f.g
	c := &call{g: g, start: g.now(), shown: shown, raw: raw,
		ev: audit.Event{Kind: "gateway.call", Subject: p.Subject, Session: session, Method: "tools/call"}}
	deny := func(reason string, format string, a ...any) (*call, *denial) {
		return c, &denial{res: toolError(format, a...), decision: "deny", reason: reason}
	}
	c.name = shown
	if f.only != "" {
		c.name = f.only + "." + shown
	}
	idx := g.tools(false)
	t, ok := idx.byName[c.name]
	if !ok {
		idx = g.tools(true)
		t, ok = idx.byName[c.name]
	}
	c.tool = t
	if ok {
		c.ev.Upstream, c.ev.Tool = t.Server, t.Tool.Name
		d := Destructive(t.Tool)
		c.destr = &d
	} else {
		c.ev.Tool = shown
	}
	if len(raw) > 0 {
		c.ev.ArgsHash = audit.HashBytes(raw)
	}
	if len(raw) > 0 && string(raw) != "null" {
		// One pass decodes the usual arguments and spots repeated keys;
		// anything it leaves (escapes, odd numbers, invalid input) is
		// decoded by encoding/json as before.
		m, dup, ok := jsonscan.DecodeObject(raw)
		if ok {
			c.args = m
		} else {
			if err := json.Unmarshal(raw, &c.args); err != nil {
				return deny("arguments are not an object", "arguments must be a JSON object")
			}
			dup = duplicateKey(raw)
		}
		if dup {
			return deny("arguments repeat a key", "arguments must not repeat a key in any object")
		}
	}
	c.ev.Args = g.redact.redactJSON(c.args)
	// A tool the caller may not see is reported exactly like a missing one,
	// so probing reveals nothing about other principals' tools.
	if !ok || !g.policy.CanList(p, t.Server, t.Tool).Allow {
		c.ev.Decision, c.ev.Reason = "deny", "unknown or unlisted tool"
		c.ev.LatencyMicros = g.now().Sub(c.start).Microseconds()
		g.record(ctx, c.ev)
		return c, &denial{rpcErr: &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown tool: " + shown}}
	}
	if why, bad := idx.blocked[c.name]; bad {
		return deny(why, "tool %s is blocked by the gateway: %s", shown, why)
	}
	d := g.policy.CanCall(ctx, p, t.Server, t.Tool, c.args)
	if !d.Allow {
		return deny(d.Reason, "call denied by gateway policy: %s", d.Reason)
	}
	if why, err := g.rateCheck(ctx, p, c.name); err != nil {
		g.log.Error("rate limiter failed, denying", "error", err)
		return deny("rate limiter error", "rate limiter unavailable; call denied")
	} else if why != "" {
		return deny(why, "%s", why)
	}
	if t.Tool.InputSchema != nil {
		cs := g.schemas.forTool(c.name, t.Tool)
		if cs.err != nil {
			return deny("invalid tool schema: "+cs.err.Error(), "tool %s has an invalid input schema and cannot be called through the gateway", shown)
		}
		var inst any = c.args
		if c.args == nil {
			inst = map[string]any{}
		}
		if err := cs.validate(inst); err != nil {
			return deny("schema validation failed", "arguments do not match the input schema of %s: %v", shown, err)
		}
	}
	if d.Approval {
		if sdkReq == nil {
			sdkReq = &mcp.CallToolRequest{}
		}
		if why := g.awaitApproval(ctx, sdkReq, p, t.Server, t.Tool.Name, d.Reason, &c.ev); why != "" {
			if ctx.Err() != nil {
				return c, &denial{rpcErr: ctx.Err()}
			}
			return deny(why, "call of %s not approved: %s", shown, why)
		}
	}
	// Fail closed: a call that could not be audited does not run.
	if g.audit != nil {
		if err := g.audit.Err(); err != nil {
			g.log.Error("audit log unavailable; refusing calls", "error", err)
			return c, &denial{res: toolError("the gateway cannot record this call in its audit log; call refused"), decision: "unaudited"}
		}
	}
	return c, nil
}

// upstreamFailure turns a failed upstream call into the result the client
// sees (details stay in the log under an id). It returns nil result when
// the client cancelled; that case is audited here.
func (c *call) upstreamFailure(ctx context.Context, err error) (*mcp.CallToolResult, string) {
	if ctx.Err() != nil {
		c.ev.Decision, c.ev.Reason = "error", "cancelled by client"
		c.ev.LatencyMicros = c.g.now().Sub(c.start).Microseconds()
		c.g.record(context.WithoutCancel(ctx), c.ev)
		return nil, ""
	}
	id := errorID()
	c.g.log.Warn("upstream call failed", "error_id", id, "upstream", c.tool.Server, "tool", c.tool.Tool.Name, "error", err)
	msg := "upstream call failed (error id " + id + ")"
	switch {
	case errors.Is(err, mcpx.ErrServerDown), errors.Is(err, mcpx.ErrCircuitOpen):
		msg = fmt.Sprintf("upstream %s is unavailable (error id %s)", c.tool.Server, id)
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("upstream %s timed out (error id %s)", c.tool.Server, id)
	}
	return toolError("%s", msg), msg
}

// checkOutput withholds structured content that breaks the tool's declared
// output schema: the client (and the model) trust it to have that shape.
func (c *call) checkOutput(res *mcp.CallToolResult) *mcp.CallToolResult {
	if res == nil || res.IsError || res.StructuredContent == nil || c.tool.Tool.OutputSchema == nil {
		return nil
	}
	cs := c.g.schemas.outputFor(c.name, c.tool.Tool)
	var inst any
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &inst)
	if cs.err != nil || cs.validate(inst) != nil {
		return toolError("upstream result of %s does not match the tool's output schema; withheld", c.shown)
	}
	return nil
}

func (f *front) callTool(ctx context.Context, p *Principal, req *mcp.CallToolRequest) (mcp.Result, error) {
	g := f.g
	c, d := f.admitCall(ctx, p, req.Params.Name, req.Params.Arguments, sessionID(req), req)
	if d != nil {
		if d.res == nil {
			return nil, d.rpcErr
		}
		if d.decision == "unaudited" {
			return d.res, nil
		}
		return c.finishResult(ctx, d.res, d.decision, d.reason)
	}
	copts := &mcpx.CallOptions{}
	if tok := req.Params.GetProgressToken(); tok != nil {
		sess := req.Session
		copts.Progress = func(pn *mcp.ProgressNotificationParams) {
			_ = sess.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: pn.Progress, Total: pn.Total, Message: pn.Message})
		}
	}
	var fwd any = c.raw
	if c.args == nil {
		fwd = map[string]any{} // absent or null arguments reach the upstream as {}
	}
	var res *mcp.CallToolResult
	var err error
	if g.relays.wantsRelay(req.Session) {
		var x *mcpx.Session
		if x, err = g.relaySession(ctx, req.Session, p, c.tool.Server); err == nil {
			res, err = x.CallTool(ctx, c.tool.Tool.Name, fwd, req.Params.GetProgressToken())
		}
	} else {
		res, err = g.mgr.CallTool(ctx, c.name, fwd, copts)
	}
	if err != nil {
		r, msg := c.upstreamFailure(ctx, err)
		if r == nil {
			return nil, ctx.Err()
		}
		return c.finishResult(ctx, r, "error", msg)
	}
	if bad := c.checkOutput(res); bad != nil {
		return c.finishResult(ctx, bad, "error", "structured content violates the output schema")
	}
	res, why := scanResponse(g.cfg.Content.Responses, res)
	if why != "" && g.cfg.Content.Responses == "block" {
		return c.finishResult(ctx, res, "deny", why)
	}
	return c.finishResult(ctx, res, "allow", why)
}

// duplicateKey reports whether a JSON object anywhere in raw (valid JSON:
// admitCall has decoded it) repeats a key. Parsers disagree about which
// duplicate wins; the gateway checks policy and schema against one
// reading, so arguments that allow two readings are refused rather than
// forwarded.
func duplicateKey(raw []byte) bool { return jsonscan.DuplicateKey(raw) }
