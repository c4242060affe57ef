package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Approval is a held call waiting for a human decision.
type Approval struct {
	ID        string          `json:"id"`
	Requester string          `json:"requester"`
	Upstream  string          `json:"upstream"`
	Tool      string          `json:"tool"`
	Args      json.RawMessage `json:"args,omitempty"` // redacted, as audited
	ArgsHash  string          `json:"args_hash"`
	Reason    string          `json:"reason"` // the policy rule that asked for approval
	Created   time.Time       `json:"created"`
	Expires   time.Time       `json:"expires"`

	decided chan approvalDecision
}

type approvalDecision struct {
	approve  bool
	approver string
}

// approvals holds pending approvals. Each is single-use: the first
// decision wins and removes it.
type approvals struct {
	mu      sync.Mutex
	pending map[string]*Approval
}

func (a *approvals) add(ap *Approval) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		a.pending = map[string]*Approval{}
	}
	a.pending[ap.ID] = ap
}

func (a *approvals) remove(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pending, id)
}

func (a *approvals) list() []Approval {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Approval, 0, len(a.pending))
	for _, ap := range a.pending {
		out = append(out, *ap)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// ErrSelfApproval is returned when a requester tries to approve their own
// call.
var ErrSelfApproval = errors.New("approver must differ from the requester")

// decide records a decision for id by approver.
func (a *approvals) decide(id string, approver *Principal, approve bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap, ok := a.pending[id]
	if !ok {
		return errors.New("no pending approval with that id")
	}
	if approver.Subject == ap.Requester {
		return ErrSelfApproval
	}
	delete(a.pending, id)
	ap.decided <- approvalDecision{approve: approve, approver: approver.Subject}
	return nil
}

func newApprovalID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clientElicits reports whether the caller's client can answer
// elicitation/create: a session before 2026-07-28 that announced the
// capability. 2026-07-28 replaced server-to-client requests during a call
// with multi-round-trip results (SEP-2322), which the gateway does not
// speak yet: those clients get the approval API path.
func clientElicits(req *mcp.CallToolRequest) bool {
	if req.Session == nil {
		return false
	}
	ip := req.Session.InitializeParams()
	return ip != nil && ip.ProtocolVersion < "2026-07-28" && ip.Capabilities != nil && ip.Capabilities.Elicitation != nil
}

// summarize writes a plain one-paragraph summary of a call for a human.
func summarize(upstream, tool string, args json.RawMessage) string {
	s := fmt.Sprintf("The assistant wants to run %q on %q", tool, upstream)
	if len(args) > 0 && string(args) != "{}" {
		s += " with arguments " + string(args)
	}
	return s + ". Approve this call?"
}

// awaitApproval holds a call until it is approved. It returns "" when the
// call may proceed, or why it may not.
func (g *Gateway) awaitApproval(ctx context.Context, req *mcp.CallToolRequest, p *Principal, upstream, tool, rule string, ev *audit.Event) string {
	base := audit.Event{Kind: "gateway.approval", Subject: p.Subject, Session: ev.Session, Upstream: upstream, Tool: tool,
		Args: ev.Args, ArgsHash: ev.ArgsHash}
	rec := func(decision, reason string) {
		e := base
		e.Decision, e.Reason = decision, reason
		g.record(context.WithoutCancel(ctx), e)
	}
	timeout := g.cfg.Approvals.Timeout
	if clientElicits(req) {
		rec("proposed", "asked the user through elicitation ("+rule+")")
		ectx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res, err := req.Session.Elicit(ectx, &mcp.ElicitParams{
			Mode:    "form",
			Message: summarize(upstream, tool, ev.Args),
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{
				"approve": map[string]any{"type": "boolean", "title": "Approve", "description": "Run this call"},
			}, "required": []string{"approve"}},
		})
		switch {
		case err != nil && ectx.Err() != nil:
			rec("deny", "approval timed out")
			return "approval timed out"
		case err != nil:
			g.log.Warn("elicitation for approval failed", "error", err)
			rec("deny", "elicitation failed")
			return "approval could not be obtained"
		case res.Action == "accept" && res.Content["approve"] == true:
			rec("approved", "approved by the user through elicitation")
			return ""
		}
		rec("deny", "declined by the user ("+res.Action+")")
		return "the user declined the call"
	}
	ap := &Approval{ID: newApprovalID(), Requester: p.Subject, Upstream: upstream, Tool: tool, Args: ev.Args, ArgsHash: ev.ArgsHash,
		Reason: rule, Created: g.now().UTC(), decided: make(chan approvalDecision, 1)}
	ap.Expires = ap.Created.Add(timeout)
	g.approvals.add(ap)
	defer g.approvals.remove(ap.ID)
	rec("proposed", "waiting for approval "+ap.ID+" ("+rule+")")
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d := <-ap.decided:
		if d.approve {
			rec("approved", "approved by "+d.approver)
			return ""
		}
		rec("deny", "denied by "+d.approver)
		return "denied by approver " + d.approver
	case <-t.C:
		rec("deny", "approval timed out")
		return "approval timed out"
	case <-ctx.Done():
		rec("deny", "cancelled while waiting for approval")
		return "cancelled while waiting for approval"
	}
}

// isApprover reports whether p may decide approvals.
func (g *Gateway) isApprover(p *Principal) bool {
	a := g.cfg.Approvals
	if slices.Contains(a.Subjects, p.Subject) {
		return true
	}
	for _, r := range p.Roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// forApprovers authenticates a request to the approvers' endpoints and
// passes on only approvers: 401 with a challenge, or 403.
func (g *Gateway) forApprovers(h func(w http.ResponseWriter, r *http.Request, p *Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, aerr := g.authn.Authenticate(r)
		if aerr != nil {
			g.authn.challenge(w, aerr)
			return
		}
		if !g.isApprover(p) {
			httpJSON(w, http.StatusForbidden, map[string]string{"error": "not an approver"})
			return
		}
		h(w, r, p)
	})
}

// approvalsHandler serves GET /approvals (pending calls) and
// POST /approvals/{id}/approve|deny for approvers.
func (g *Gateway) approvalsHandler() http.Handler {
	return g.forApprovers(func(w http.ResponseWriter, r *http.Request, p *Principal) {
		rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/approvals"), "/")
		switch {
		case r.Method == http.MethodGet && rest == "":
			httpJSON(w, http.StatusOK, map[string]any{"approvals": g.approvals.list()})
		case r.Method == http.MethodPost && strings.Count(rest, "/") == 1:
			id, verb, _ := strings.Cut(rest, "/")
			if verb != "approve" && verb != "deny" {
				httpJSON(w, http.StatusNotFound, map[string]string{"error": "want /approvals/{id}/approve or /deny"})
				return
			}
			err := g.approvals.decide(id, p, verb == "approve")
			switch {
			case errors.Is(err, ErrSelfApproval):
				g.record(r.Context(), audit.Event{Kind: "gateway.approval", Subject: p.Subject, Decision: "deny", Reason: "self-approval refused for " + id, Remote: r.RemoteAddr})
				httpJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
			case err != nil:
				httpJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			default:
				httpJSON(w, http.StatusOK, map[string]string{"id": id, "decision": verb})
			}
		default:
			httpJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		}
	})
}

func httpJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
