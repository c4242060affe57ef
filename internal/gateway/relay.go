package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var errUnauthenticated = errors.New("unauthenticated")

// Server-to-client traffic. An upstream's sampling and elicitation
// requests and its log and progress notifications during a call must reach
// the client that made the call and nobody else. Calls of a client session
// that can receive them (a 2025-06-18 or 2025-11-25 session that announced
// sampling or elicitation, or set a log level) therefore run on a dedicated
// upstream session opened for that client session (mcpx.OpenSession), whose
// handlers relay to it (and which answers roots/list with the client's
// roots as they were when it opened); the session is closed when the
// client's ends. Every relayed request is audited (gateway.relay). Other
// calls share the upstream's connection.

type relays struct {
	mu   sync.Mutex
	sets map[*mcp.ServerSession]*relaySet
}

type relaySet struct {
	level mcp.LoggingLevel
	ups   map[string]*mcpx.Session
	// rootsMu orders the passing on of the client's root changes.
	rootsMu sync.Mutex
}

// wantsRelay reports whether calls of ss need a dedicated upstream session.
func (r *relays) wantsRelay(ss *mcp.ServerSession) bool {
	if ss == nil {
		return false
	}
	ip := ss.InitializeParams()
	if ip == nil || ip.ProtocolVersion >= "2026-07-28" {
		return false
	}
	// Roots alone do not justify a session (and, for stdio, a process) per
	// client: most clients announce them. They are relayed on sessions
	// opened for sampling, elicitation or logging.
	if c := ip.Capabilities; c != nil && (c.Sampling != nil || c.Elicitation != nil) {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.sets[ss]
	return set != nil && set.level != ""
}

// setLevel records a client session's log level and passes it to the
// upstream sessions already open for it.
func (g *Gateway) setLevel(ctx context.Context, ss *mcp.ServerSession, level mcp.LoggingLevel) {
	r := &g.relays
	r.mu.Lock()
	set := r.set(g, ss)
	set.level = level
	ups := make([]*mcpx.Session, 0, len(set.ups))
	for _, u := range set.ups {
		ups = append(ups, u)
	}
	r.mu.Unlock()
	for _, u := range ups {
		_ = u.SetLoggingLevel(ctx, level)
	}
}

// set returns ss's relay set, creating it (and the watcher that closes its
// sessions when ss ends). r.mu is held.
func (r *relays) set(g *Gateway, ss *mcp.ServerSession) *relaySet {
	if r.sets == nil {
		r.sets = map[*mcp.ServerSession]*relaySet{}
	}
	set := r.sets[ss]
	if set == nil {
		set = &relaySet{ups: map[string]*mcpx.Session{}}
		r.sets[ss] = set
		go func() {
			_ = ss.Wait()
			r.mu.Lock()
			delete(r.sets, ss)
			r.mu.Unlock()
			for _, u := range set.ups {
				u.Close()
			}
		}()
	}
	return set
}

// relaySession returns the dedicated session to upstream for ss, opening
// it on first use.
func (g *Gateway) relaySession(ctx context.Context, ss *mcp.ServerSession, p *Principal, upstream string) (*mcpx.Session, error) {
	r := &g.relays
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.set(g, ss)
	if u := set.ups[upstream]; u != nil {
		return u, nil
	}
	relayed := func(method string) {
		g.record(ctx, audit.Event{Kind: "gateway.relay", Subject: p.Subject, Session: ss.ID(), Upstream: upstream, Method: method, Decision: "allow"})
	}
	h := mcpx.ClientHandlers{
		Log:      func(ctx context.Context, m *mcp.LoggingMessageParams) { _ = ss.Log(ctx, m) },
		Progress: func(ctx context.Context, m *mcp.ProgressNotificationParams) { _ = ss.NotifyProgress(ctx, m) },
		LogLevel: set.level,
		// The client's own revision: one where servers may send requests.
		ProtocolVersion: ss.InitializeParams().ProtocolVersion,
	}
	caps := ss.InitializeParams().Capabilities
	if caps != nil && caps.RootsV2 != nil {
		// The client's roots as they are when the session opens.
		h.Roots = []*mcp.Root{}
		if res, err := ss.ListRoots(ctx, nil); err == nil && res != nil {
			h.Roots = res.Roots
		} else if err != nil {
			g.log.Warn("listing the client's roots for an upstream session", "upstream", upstream, "error", err)
		}
		relayed("roots/list")
	}
	if caps != nil && caps.Sampling != nil {
		h.CreateMessage = func(ctx context.Context, m *mcp.CreateMessageParams) (*mcp.CreateMessageResult, error) {
			relayed("sampling/createMessage")
			return ss.CreateMessage(ctx, m)
		}
	}
	if caps != nil && caps.Elicitation != nil {
		h.Elicit = func(ctx context.Context, m *mcp.ElicitParams) (*mcp.ElicitResult, error) {
			relayed("elicitation/create")
			return ss.Elicit(ctx, m)
		}
	}
	// Not the call's context: the session outlives the call, and handlers must
	// not inherit the call's request (its response stream closes with it).
	u, err := g.mgr.OpenSession(context.Background(), upstream, h)
	if err != nil {
		return nil, err
	}
	set.ups[upstream] = u
	return u, nil
}

// rootsChanged passes a client's notifications/roots/list_changed on to
// the upstream sessions opened for that client session: the gateway lists
// the client's roots again, and each session answers roots/list with them
// from then on and tells its upstream that they changed. Upstreams reached
// through the shared connection see a client without roots, so there is
// nothing to tell them. It runs apart from the notification, which must
// not wait for a request to the same client.
func (f *front) rootsChanged(_ context.Context, req *mcp.RootsListChangedRequest) {
	g, ss := f.g, req.Session
	p := f.principal(req)
	if ss == nil || p == nil {
		return
	}
	r := &g.relays
	r.mu.Lock()
	set := r.sets[ss]
	r.mu.Unlock()
	if set == nil {
		return
	}
	go func() {
		set.rootsMu.Lock()
		defer set.rootsMu.Unlock()
		r.mu.Lock()
		ups := make(map[string]*mcpx.Session, len(set.ups))
		for name, u := range set.ups {
			ups[name] = u
		}
		r.mu.Unlock()
		if len(ups) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := ss.ListRoots(ctx, nil)
		if err != nil || res == nil {
			g.log.Warn("listing the client's changed roots", "session", ss.ID(), "error", err)
			return
		}
		for name, u := range ups {
			u.SetRoots(res.Roots)
			g.record(ctx, audit.Event{Kind: "gateway.relay", Subject: p.Subject, Session: ss.ID(), Upstream: name,
				Method: "notifications/roots/list_changed", Decision: "allow"})
		}
	}()
}

// resourceUpstream finds the upstream that serves uri for p on front f.
func (f *front) resourceUpstream(p *Principal, uri string) string {
	if f.only != "" {
		return f.only
	}
	for _, r := range f.g.mgr.Resources() {
		if r.Resource.URI == uri && f.g.policy.CanUseUpstream(p, r.Server) {
			return r.Server
		}
	}
	return ""
}

// subscribe forwards resources/subscribe to the upstream's shared session
// (once per upstream and URI); updates come back through onResourceUpdated
// and the SDK sends them to the client sessions subscribed to the URI.
func (f *front) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	p := f.principal(req)
	if p == nil {
		return errUnauthenticated
	}
	uri := req.Params.URI
	up := f.resourceUpstream(p, uri)
	ev := audit.Event{Kind: "gateway.resource", Subject: p.Subject, Session: sessionID(req), Method: "resources/subscribe", Upstream: up,
		Detail: mustJSON(map[string]string{"uri": uri})}
	if up == "" || !f.g.policy.CanUseUpstream(p, up) {
		ev.Decision, ev.Reason = "deny", "unknown or unlisted resource"
		f.g.record(ctx, ev)
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Resource not found: " + uri}
	}
	g := f.g
	key := up + "\x00" + uri
	g.subsMu.Lock()
	n := g.subs[key]
	g.subs[key] = n + 1
	g.subsMu.Unlock()
	if n == 0 {
		if err := g.mgr.Subscribe(ctx, up, uri); err != nil {
			g.subsMu.Lock()
			g.subs[key]--
			g.subsMu.Unlock()
			ev.Decision, ev.Reason = "error", "upstream failed"
			g.record(ctx, ev)
			return upstreamError(err)
		}
	}
	ev.Decision = "allow"
	g.record(ctx, ev)
	return nil
}

func (f *front) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	p := f.principal(req)
	if p == nil {
		return errUnauthenticated
	}
	uri := req.Params.URI
	up := f.resourceUpstream(p, uri)
	if up == "" {
		return nil
	}
	g := f.g
	key := up + "\x00" + uri
	g.subsMu.Lock()
	n := g.subs[key]
	if n > 0 {
		g.subs[key] = n - 1
	}
	last := n == 1
	if last {
		delete(g.subs, key)
	}
	g.subsMu.Unlock()
	g.record(ctx, audit.Event{Kind: "gateway.resource", Subject: p.Subject, Session: sessionID(req), Method: "resources/unsubscribe", Upstream: up,
		Decision: "allow", Detail: mustJSON(map[string]string{"uri": uri})})
	if last {
		if err := g.mgr.Unsubscribe(ctx, up, uri); err != nil {
			return upstreamError(err)
		}
	}
	return nil
}

// onResourceUpdated passes an upstream's resources/updated to every front;
// the SDK delivers it to the client sessions subscribed to the URI.
func (g *Gateway) onResourceUpdated(_ string, params *mcp.ResourceUpdatedNotificationParams) {
	g.frontsMu.Lock()
	fronts := append([]*front(nil), g.fronts...)
	g.frontsMu.Unlock()
	for _, f := range fronts {
		_ = f.srv.SDK().ResourceUpdated(context.Background(), params)
	}
}

// complete forwards completion/complete to the upstream that owns the
// prompt or resource.
func (f *front) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	p := f.principal(req)
	if p == nil {
		return nil, errUnauthenticated
	}
	params := *req.Params
	ref := *params.Ref
	up := f.only
	switch ref.Type {
	case "ref/prompt":
		if f.only == "" {
			server, name, ok := mcpx.SplitName(ref.Name)
			if !ok {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown prompt: " + ref.Name}
			}
			up, ref.Name = server, name
		}
	case "ref/resource":
		if up == "" {
			up = f.resourceUpstream(p, ref.URI)
		}
	}
	if up == "" || !f.g.policy.CanUseUpstream(p, up) {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown completion reference"}
	}
	params.Ref = &ref
	res, err := f.g.mgr.Complete(ctx, up, &params)
	if err != nil {
		return nil, upstreamError(err)
	}
	return res, nil
}
