package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options tune New. Nil means defaults.
type Options struct {
	Logger *slog.Logger
	// Version is reported to clients as the gateway's implementation
	// version.
	Version string
	// Now is the clock for tokens, limits and audit; nil means time.Now.
	Now func() time.Time
	// InProcess maps upstream names to SDK servers in this process
	// (tests, benchmarks); see mcpx.ManagerOptions.InProcess.
	InProcess map[string]*mcp.Server
	// Limiter overrides the rate limiter chosen from the config.
	Limiter Limiter
}

// Gateway fronts the configured upstreams. Create it with New, Start it,
// serve Handler or ServeStdio, and Close it.
type Gateway struct {
	cfg     *Config
	log     *slog.Logger
	now     func() time.Time
	version string
	mgr     *mcpx.Manager
	authn   *Authenticator
	policy  *Policy
	limiter Limiter
	audit   *audit.Writer
	soc     *socForwarder
	redact  *redactor
	schemas schemaCache
	guard   *guard

	approvals approvals
	relays    relays

	subsMu sync.Mutex
	subs   map[string]int // upstream + "\x00" + URI -> client subscriptions

	index      atomic.Pointer[toolIndex]
	indexMu    sync.Mutex
	indexBuilt atomic.Int64 // Unix nanoseconds of the last rebuild; 0: never

	// fastCalls counts tools/call requests served on the fast path.
	fastCalls atomic.Int64

	frontsMu sync.Mutex
	fronts   []*front

	stop context.CancelFunc
	bg   sync.WaitGroup
}

type toolIndex struct {
	byName map[string]mcpx.Tool // namespaced name
	list   []mcpx.Tool
	// blocked maps namespaced names to why the tool is quarantined or
	// blocked: such tools are neither listed nor callable.
	blocked map[string]string
	sig     string // signature of what clients can see, to notice changes
}

// New builds a gateway from a validated config. Nothing connects before
// Start.
func New(cfg *Config, opts *Options) (*Gateway, error) {
	if opts == nil {
		opts = &Options{}
	}
	g := &Gateway{cfg: cfg, log: opts.Logger, now: opts.Now, version: opts.Version,
		policy: NewPolicy(cfg.Policy), limiter: opts.Limiter, redact: newRedactor(cfg.Audit.RedactKeys)}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.log = g.log.With("component", "gateway")
	if g.now == nil {
		g.now = time.Now
	}
	if g.version == "" {
		g.version = "dev"
	}
	var jwks *JWKS
	if j := cfg.Auth.JWT; j != nil && j.JWKSURL != "" {
		jwks = NewJWKS(j.JWKSURL, j.JWKSRefresh, j.AllowPrivateJWKS)
	}
	a, err := NewAuthenticator(cfg, jwks, g.now)
	if err != nil {
		return nil, err
	}
	g.authn = a
	a.OnReject = g.auditAuthReject
	if g.limiter == nil {
		if r := cfg.Limits.Rate.Redis; r != nil {
			g.limiter = NewRedisLimiter(r)
		} else {
			g.limiter = NewMemLimiter(g.now)
		}
	}
	if cfg.Audit.File != "-" {
		pol, _ := audit.ParseSyncPolicy(cfg.Audit.Sync)
		w, err := audit.Open(cfg.Audit.File, &audit.Options{Sync: pol})
		if err != nil {
			return nil, err
		}
		g.audit = w
	}
	if cfg.SOC.URL != "" {
		g.soc = newSOCForwarder(cfg.SOC, g.log)
	}
	gd, err := newGuard(cfg.Content, cfg.Upstreams, g.now, func(ev audit.Event) { g.record(context.Background(), ev) })
	if err != nil {
		if g.audit != nil {
			g.audit.Close()
		}
		return nil, err
	}
	g.guard = gd
	g.subs = map[string]int{}
	g.mgr = mcpx.NewManager(cfg.Upstreams, &mcpx.ManagerOptions{
		Logger: g.log, ClientName: "mcpsoc-gateway", ClientVersion: g.version, InProcess: opts.InProcess,
		ResourceUpdated: g.onResourceUpdated,
	})
	return g, nil
}

// Start connects the upstreams in the background and watches their
// catalogs: every second (and whenever a request finds the index stale) the
// tool list is re-read, new or changed tools are pinned, scanned or
// quarantined, and connected clients are told the list changed.
func (g *Gateway) Start(ctx context.Context) {
	g.mgr.Start(ctx)
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.stop = cancel
	g.bg.Add(1)
	go func() {
		defer g.bg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				g.tools(true)
			}
		}
	}()
}

// WaitReady waits for every upstream's first connection attempt.
func (g *Gateway) WaitReady(ctx context.Context) error { return g.mgr.WaitReady(ctx) }

// Manager exposes the upstream manager (status for the API).
func (g *Gateway) Manager() *mcpx.Manager { return g.mgr }

// AuditHead returns the audit chain's head, for anchoring elsewhere.
func (g *Gateway) AuditHead() audit.Head {
	if g.audit == nil {
		return audit.Head{}
	}
	return g.audit.Head()
}

// Close disconnects upstreams and closes the audit log.
func (g *Gateway) Close() error {
	if g.stop != nil {
		g.stop()
		g.bg.Wait()
	}
	err := g.mgr.Close()
	if g.soc != nil {
		g.soc.close()
	}
	if g.audit != nil {
		err = errors.Join(err, g.audit.Close())
	}
	return err
}

// tools returns the current catalog index, rebuilt at most every 500ms,
// or at once when force is set (a name was not found).
func (g *Gateway) tools(force bool) *toolIndex {
	idx := g.index.Load()
	now := g.now()
	built := time.Unix(0, g.indexBuilt.Load())
	stale := idx == nil || now.Sub(built) > 500*time.Millisecond || (force && now.Sub(built) > 50*time.Millisecond)
	if !stale {
		return idx
	}
	g.indexMu.Lock()
	defer g.indexMu.Unlock()
	if cur := g.index.Load(); cur != idx && cur != nil && !force {
		return cur // another caller rebuilt it meanwhile
	}
	list := g.mgr.Tools()
	next := &toolIndex{byName: make(map[string]mcpx.Tool, len(list)), list: list,
		blocked: g.guard.review(context.Background(), list)}
	visible := make([]mcpx.Tool, 0, len(list))
	for _, t := range list {
		next.byName[t.Name] = t
		if _, bad := next.blocked[t.Name]; !bad {
			visible = append(visible, t)
		}
	}
	next.sig = toolSetSignature(visible, g.guard.hash)
	g.index.Store(next)
	g.indexBuilt.Store(now.UnixNano())
	if idx != nil && idx.sig != next.sig {
		g.notifyListChanged()
	}
	return next
}

// notifyListChanged tells every connected client that the tool list
// changed. The SDK sends notifications/tools/list_changed when a server's
// tool set changes, so each front adds and removes a sentinel tool (never
// listed or callable: the middleware answers tools/list and tools/call).
func (g *Gateway) notifyListChanged() {
	g.frontsMu.Lock()
	fronts := append([]*front(nil), g.fronts...)
	g.frontsMu.Unlock()
	for _, f := range fronts {
		s := f.srv.SDK()
		s.AddTool(&mcp.Tool{Name: catalogSentinel, InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return nil, errors.New("not callable")
			})
		s.RemoveTools(catalogSentinel)
	}
}

const catalogSentinel = "mcpsoc-gateway-catalog-changed"

// front is one MCP endpoint: the aggregated one (only == "") or one
// upstream's (tool names without the namespace).
type front struct {
	g     *Gateway
	only  string
	stdio bool
	srv   *mcpx.Server
}

func (g *Gateway) newFront(only string, stdio bool) *front {
	name := "mcpsoc-gateway"
	if only != "" {
		name += "/" + only
	}
	f := &front{g: g, only: only, stdio: stdio}
	f.srv = mcpx.NewServer(name, g.version, &mcpx.ServerOptions{
		Logger:       g.log,
		Instructions: "MCPSoc gateway: tools of several MCP servers, named upstream.tool, under authentication, policy and audit.",
		SDK: &mcp.ServerOptions{HasTools: true, HasPrompts: true, HasResources: true,
			CompletionHandler: f.complete, SubscribeHandler: f.subscribe, UnsubscribeHandler: f.unsubscribe,
			RootsListChangedHandler: f.rootsChanged},
	})
	f.srv.SDK().AddReceivingMiddleware(f.middleware)
	g.frontsMu.Lock()
	g.fronts = append(g.fronts, f)
	g.frontsMu.Unlock()
	return f
}

func (f *front) principal(req mcp.Request) *Principal {
	if ex := req.GetExtra(); ex != nil {
		if p := PrincipalFrom(ex.TokenInfo); p != nil {
			return p
		}
	}
	if f.stdio {
		return &Principal{Subject: f.g.cfg.Auth.Anonymous, Method: "stdio"}
	}
	return nil
}

func (f *front) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			p := f.principal(req)
			if p == nil {
				return nil, errors.New("unauthenticated")
			}
			return f.listTools(ctx, p, req), nil
		case "tools/call":
			p := f.principal(req)
			if p == nil {
				return nil, errors.New("unauthenticated")
			}
			return f.callTool(ctx, p, req.(*mcp.CallToolRequest))
		case "logging/setLevel":
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				if lp, ok := req.GetParams().(*mcp.SetLoggingLevelParams); ok && lp != nil {
					f.g.setLevel(ctx, ss, lp.Level)
				}
			}
			return next(ctx, method, req)
		case "prompts/list", "prompts/get", "resources/list", "resources/read":
			p := f.principal(req)
			if p == nil {
				return nil, errors.New("unauthenticated")
			}
			switch method {
			case "prompts/list":
				return f.listPrompts(ctx, p, req), nil
			case "prompts/get":
				return f.getPrompt(ctx, p, req.(*mcp.GetPromptRequest))
			case "resources/list":
				return f.listResources(ctx, p, req), nil
			default:
				return f.readResource(ctx, p, req.(*mcp.ReadResourceRequest))
			}
		}
		return next(ctx, method, req)
	}
}

func sessionID(req mcp.Request) string {
	if s := req.GetSession(); s != nil {
		return s.ID()
	}
	return ""
}

func (f *front) exposedName(t mcpx.Tool) string {
	if f.only != "" {
		return t.Tool.Name
	}
	return t.Name
}

func (f *front) listTools(ctx context.Context, p *Principal, req mcp.Request) *mcp.ListToolsResult {
	start := f.g.now()
	res := &mcp.ListToolsResult{Tools: []*mcp.Tool{}}
	hidden := 0
	// Listing is rare next to calling: read the upstreams' catalogs afresh
	// (at most every 50ms) rather than trusting the call-path cache.
	idx := f.g.tools(true)
	for _, t := range idx.list {
		if f.only != "" && t.Server != f.only {
			continue
		}
		if _, bad := idx.blocked[t.Name]; bad {
			hidden++
			continue
		}
		if !f.g.policy.CanList(p, t.Server, t.Tool).Allow {
			hidden++
			continue
		}
		c := *t.Tool
		c.Name = f.exposedName(t)
		res.Tools = append(res.Tools, &c)
	}
	detail, _ := json.Marshal(map[string]int{"listed": len(res.Tools), "hidden": hidden})
	f.g.record(ctx, audit.Event{Kind: "gateway.list", Subject: p.Subject, Session: sessionID(req), Method: "tools/list",
		Upstream: f.only, Decision: "allow", LatencyMicros: f.g.now().Sub(start).Microseconds(), Detail: detail})
	return res
}

func errorID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (g *Gateway) rateCheck(ctx context.Context, p *Principal, tool string) (string, error) {
	r := g.cfg.Limits.Rate
	if r.PerSubject.Rate > 0 {
		ok, wait, err := g.limiter.Allow(ctx, "s:"+p.Subject, r.PerSubject)
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("rate limit exceeded for %s; retry after %.1fs", p.Subject, wait.Seconds()), nil
		}
	}
	if r.PerTool.Rate > 0 {
		ok, wait, err := g.limiter.Allow(ctx, "t:"+p.Subject+":"+tool, r.PerTool)
		if err != nil {
			return "", err
		}
		if !ok {
			return fmt.Sprintf("rate limit exceeded for %s on %s; retry after %.1fs", p.Subject, tool, wait.Seconds()), nil
		}
	}
	return "", nil
}

// record appends ev to the audit log. A failed audit write is logged at
// error level: the operator must know the trail has a gap.
func (g *Gateway) record(_ context.Context, ev audit.Event) {
	var rec *audit.Record
	if g.audit != nil {
		var err error
		if rec, err = g.audit.Append(ev); err != nil {
			g.log.Error("audit write failed", "error", err, "kind", ev.Kind)
		}
	}
	if g.soc != nil {
		if rec == nil {
			rec = &audit.Record{Time: g.now(), Event: ev}
		}
		g.soc.send(rec)
	}
}

func (g *Gateway) auditAuthReject(r *http.Request, e *AuthError) {
	g.record(r.Context(), audit.Event{Kind: "gateway.auth", Method: r.Method + " " + r.URL.Path, Decision: "deny",
		Reason: fmt.Sprintf("%d %s", e.Status, e.Desc), Remote: r.RemoteAddr})
}

// Handler serves the gateway over HTTP: the aggregated endpoint at /mcp,
// one endpoint per upstream at /mcp/{upstream}, and RFC 9728 metadata.
// Every MCP request passes Host/Origin checks, body limits and
// authentication, in that order.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	hostCheck := mcpx.NewHostCheck(g.cfg.AllowedHosts, g.cfg.AllowedOrigins)
	httpOpts := &mcpx.HTTPOptions{AllowedHosts: g.cfg.AllowedHosts, AllowedOrigins: g.cfg.AllowedOrigins,
		MaxBodyBytes: g.cfg.Limits.MaxBodyBytes, Logger: g.log}
	wrap := func(h http.Handler) http.Handler {
		h = g.authn.Middleware(g.requestRate(h))
		h = limitBody(h, g.cfg.Limits.MaxBodyBytes, g.cfg.Limits.MaxDepth, g.cfg.Limits.MaxStringBytes)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if reason := hostCheck.Reject(r); reason != "" {
				rpcError(w, http.StatusForbidden, -32000, "Forbidden: "+reason)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	serve := func(only string) http.Handler {
		f := g.newFront(only, false)
		return wrap(f.fastPath(g.authn.SDKBearer(f.srv.HTTPHandler(httpOpts))))
	}
	mux.Handle("/mcp", serve(""))
	for _, u := range g.cfg.Upstreams {
		if u.Disabled {
			continue
		}
		mux.Handle("/mcp/"+u.Name, serve(u.Name))
	}
	mux.Handle("/approvals", wrapHost(hostCheck, g.approvalsHandler()))
	mux.Handle("/approvals/", wrapHost(hostCheck, g.approvalsHandler()))
	mux.Handle("/quarantine", wrapHost(hostCheck, g.quarantineHandler()))
	mux.Handle("/quarantine/", wrapHost(hostCheck, g.quarantineHandler()))
	md := g.authn.MetadataHandler()
	mux.Handle("GET /.well-known/oauth-protected-resource", md)
	mux.Handle("GET /.well-known/oauth-protected-resource/mcp", md)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "ok", "upstreams": g.mgr.Servers()})
	})
	return mux
}

// requestRate applies limits.rate.per_request to authenticated HTTP
// requests: 429 with Retry-After when the subject's bucket is empty.
func (g *Gateway) requestRate(next http.Handler) http.Handler {
	b := g.cfg.Limits.Rate.PerRequest
	if b.Rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := r.Context().Value(principalCtxKey{}).(*Principal)
		if p == nil {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait, err := g.limiter.Allow(r.Context(), "r:"+p.Subject, b)
		if err != nil {
			g.log.Error("rate limiter failed, denying", "error", err)
			rpcError(w, http.StatusServiceUnavailable, -32000, "rate limiter unavailable")
			return
		}
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			g.record(r.Context(), audit.Event{Kind: "gateway.rate", Subject: p.Subject, Method: r.Method + " " + r.URL.Path,
				Decision: "deny", Reason: "request rate exceeded", Remote: r.RemoteAddr})
			rpcError(w, http.StatusTooManyRequests, -32000, "rate limit exceeded")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func wrapHost(check *mcpx.HostCheck, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := check.Reject(r); reason != "" {
			rpcError(w, http.StatusForbidden, -32000, "Forbidden: "+reason)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ServeStdio serves the aggregated endpoint on standard input and output
// for a local client, as the configured anonymous subject (a local
// process that can spawn the gateway already has the user's rights; policy
// still applies to that subject).
func (g *Gateway) ServeStdio(ctx context.Context) error {
	return g.newFront("", true).srv.ServeStdio(ctx)
}
