package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Decision is the policy's answer for one principal and tool.
type Decision struct {
	Allow bool
	// Approval is set when the allowing rule requires human approval.
	Approval bool
	// Reason names the rule (or default) that decided, for audit and for
	// the denial message.
	Reason string
}

// Policy evaluates PolicyConfig. It is immutable and safe for concurrent
// use.
type Policy struct {
	cfg PolicyConfig
	// destructive lists tools ("upstream.tool" patterns) the operator
	// declares destructive whatever their annotations say.
	destructive []string
}

// Rules are evaluated in order and the first applicable one decides. An
// allow rule applies to a destructive tool only with allow_destructive set;
// a rule with argument conditions applies to a call only when they hold
// (a failed condition on an allow rule denies the call with the reason).

// NewPolicy returns the policy of cfg, which must have been validated.
func NewPolicy(cfg PolicyConfig) *Policy { return &Policy{cfg: cfg} }

// Destructive reports whether t must be treated as destructive. Server
// annotations are untrusted hints: a tool is destructive unless it claims
// readOnlyHint or an explicit destructiveHint=false (MCP's default for an
// absent hint is destructive).
func Destructive(t *mcp.Tool) bool {
	a := t.Annotations
	if a == nil {
		return true
	}
	if a.ReadOnlyHint {
		return false
	}
	return a.DestructiveHint == nil || *a.DestructiveHint
}

func matchAny(patterns []string, s string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

func (r *Rule) matchesCaller(p *Principal) bool {
	if len(r.Subjects) == 0 && len(r.Roles) == 0 {
		return true
	}
	if slices.Contains(r.Subjects, "*") || slices.Contains(r.Subjects, p.Subject) {
		return true
	}
	for _, role := range p.Roles {
		if slices.Contains(r.Roles, role) {
			return true
		}
	}
	return false
}

// CanUseUpstream decides whether p may see an upstream's prompts and
// resources: some allow rule must select p and the upstream (whatever its
// tool patterns), and no unconditional deny rule for all its tools may
// select them first; with default allow, any caller.
func (pl *Policy) CanUseUpstream(p *Principal, upstream string) bool {
	for i := range pl.cfg.Rules {
		r := &pl.cfg.Rules[i]
		if !r.matchesCaller(p) || !matchAny(r.Upstreams, upstream) {
			continue
		}
		if r.Effect == "deny" {
			if len(r.Tools) == 0 && len(r.Args) == 0 && r.when == nil {
				return false
			}
			continue
		}
		return true
	}
	return pl.cfg.Default == "allow"
}

// CanList decides whether p may see tool t of upstream: the first rule
// matching caller, upstream and tool decides, ignoring argument
// conditions (a tool callable with some arguments is listed). A tool p may
// never call is not listed.
func (pl *Policy) CanList(p *Principal, upstream string, t *mcp.Tool) Decision {
	return pl.decide(p, upstream, t, nil)
}

// CanCall decides whether p may call tool t of upstream with args (the
// decoded arguments object, possibly nil).
func (pl *Policy) CanCall(ctx context.Context, p *Principal, upstream string, t *mcp.Tool, args map[string]any) Decision {
	if args == nil {
		args = map[string]any{}
	}
	return pl.decideCtx(ctx, p, upstream, t, args)
}

func (pl *Policy) decide(p *Principal, upstream string, t *mcp.Tool, args map[string]any) Decision {
	return pl.decideCtx(context.Background(), p, upstream, t, args)
}

func (pl *Policy) decideCtx(ctx context.Context, p *Principal, upstream string, t *mcp.Tool, args map[string]any) Decision {
	destructive := Destructive(t)
	skipped := ""
	for i := range pl.cfg.Rules {
		r := &pl.cfg.Rules[i]
		if !r.matchesCaller(p) || !matchAny(r.Upstreams, upstream) || !matchAny(r.Tools, t.Name) {
			continue
		}
		conditional := len(r.Args) > 0 || r.when != nil
		if args == nil && conditional && r.Effect == "deny" {
			continue // listing: a conditional deny does not hide the tool
		}
		if args != nil && conditional {
			why := r.checkArgs(args)
			if why == "" && r.when != nil {
				ok, err := evalCondition(ctx, r.when, p, upstream, t.Name, args)
				switch {
				case err != nil && r.Effect == "deny":
					// Fail closed: a deny rule we cannot evaluate denies.
					return Decision{Reason: fmt.Sprintf("%s: condition could not be evaluated: %v", r.Name, err)}
				case err != nil:
					why = "condition could not be evaluated: " + err.Error()
				case !ok:
					why = "condition not met"
				}
			}
			if why != "" {
				if r.Effect == "deny" {
					continue // a deny rule whose conditions fail does not apply
				}
				return Decision{Reason: fmt.Sprintf("%s: %s", r.Name, why)}
			}
		}
		if r.Effect == "deny" {
			return Decision{Reason: "denied by " + r.Name}
		}
		if destructive && !r.AllowDestructive {
			// An allow rule without allow_destructive does not cover
			// destructive tools; a later rule may.
			if skipped == "" {
				skipped = r.Name
			}
			continue
		}
		reason := r.allowedBy
		if reason == "" {
			reason = "allowed by " + r.Name
		}
		return Decision{Allow: true, Approval: r.RequireApproval, Reason: reason}
	}
	if skipped != "" {
		return Decision{Reason: fmt.Sprintf("destructive tool: %s does not set allow_destructive and no later rule allows it", skipped)}
	}
	if pl.cfg.Default == "allow" {
		if destructive {
			return Decision{Reason: "destructive tool denied by default"}
		}
		return Decision{Allow: true, Reason: "allowed by default"}
	}
	return Decision{Reason: "no policy rule allows this tool"}
}

// checkArgs returns why args fail r's conditions, or "".
func (r *Rule) checkArgs(args map[string]any) string {
	for name, c := range r.Args {
		v, present := args[name]
		if !present {
			return fmt.Sprintf("argument %q is required by policy", name)
		}
		s, isString := v.(string)
		scalar := s
		if !isString {
			b, _ := json.Marshal(v)
			scalar = string(b)
		}
		if len(c.OneOf) > 0 && !slices.Contains(c.OneOf, scalar) {
			return fmt.Sprintf("argument %q value not allowed by policy", name)
		}
		if c.re != nil && (!isString || !c.re.MatchString(s)) {
			return fmt.Sprintf("argument %q does not match the policy pattern", name)
		}
		if c.MaxLength > 0 && isString && len(s) > c.MaxLength {
			return fmt.Sprintf("argument %q longer than %s bytes allowed by policy", name, strconv.Itoa(c.MaxLength))
		}
	}
	return ""
}
