package mcpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
)

// Errors a call can fail with before reaching a server.
var (
	ErrUnknownServer = errors.New("unknown MCP server")
	ErrUnknownTool   = errors.New("unknown tool")
	ErrServerDown    = errors.New("MCP server is not connected")
	ErrCircuitOpen   = errors.New("MCP server circuit is open after repeated failures")
)

// ManagerOptions configure NewManager. Nil means defaults.
type ManagerOptions struct {
	Logger *slog.Logger
	// Registerer receives the manager's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// ClientName and ClientVersion identify MCPSoc to servers.
	ClientName, ClientVersion string
	// OAuthCodeFetcher completes authorization-code flows. Nil logs the URL
	// for an operator and waits for the browser on the loopback redirect.
	OAuthCodeFetcher auth.AuthorizationCodeFetcher
	// ElicitationHandler answers servers' elicitation requests. Nil
	// advertises no elicitation capability.
	ElicitationHandler func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error)
	// ResourceUpdated receives notifications/resources/updated from any
	// server's shared session (subscriptions made with Subscribe).
	ResourceUpdated func(server string, params *mcp.ResourceUpdatedNotificationParams)
	// BackoffMin and BackoffMax bound reconnection delays (defaults 500ms
	// and 30s); each delay gets up to 50% random jitter.
	BackoffMin, BackoffMax time.Duration
	// BreakerThreshold consecutive failed calls open a server's circuit for
	// BreakerCooldown (defaults 5 and 30s).
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// InProcess maps server names to SDK servers running in this process;
	// those servers are reached over in-memory transports and need only a
	// name in their config entry. serve uses this for built-in servers.
	InProcess map[string]*mcp.Server
	// MaxMessageBytes bounds one message from a server (default 16 MiB);
	// a server that sends a longer one is disconnected and retried.
	MaxMessageBytes int
}

func (o *ManagerOptions) withDefaults() ManagerOptions {
	var c ManagerOptions
	if o != nil {
		c = *o
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ClientName == "" {
		c.ClientName = "mcpsoc"
	}
	if c.ClientVersion == "" {
		c.ClientVersion = "dev"
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 500 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.BreakerThreshold <= 0 {
		c.BreakerThreshold = 5
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 16 << 20
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = 30 * time.Second
	}
	return c
}

// Manager connects to many MCP servers and presents them as one catalog.
// All methods are safe for concurrent use. Start it once, then Close it.
type Manager struct {
	opts    ManagerOptions
	conns   []*conn
	byName  map[string]*conn
	metrics *metrics

	mu      sync.Mutex
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// NewManager prepares connections to the enabled servers in specs, which
// must have passed config validation. Nothing connects before Start.
func NewManager(specs []config.MCPServer, opts *ManagerOptions) *Manager {
	o := opts.withDefaults()
	m := &Manager{opts: o, byName: map[string]*conn{}, metrics: newMetrics(o.Registerer)}
	for _, s := range specs {
		if s.Disabled {
			continue
		}
		c := newConn(s, m)
		m.conns = append(m.conns, c)
		m.byName[s.Name] = c
	}
	return m
}

// Start connects every server concurrently in the background and keeps
// them connected until Close. Use WaitReady to wait for first attempts.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return
	}
	m.started = true
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, c := range m.conns {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			c.run(ctx)
		}()
	}
}

// WaitReady blocks until every server has finished its first connection
// attempt, successful or not, or ctx is done.
func (m *Manager) WaitReady(ctx context.Context) error {
	for _, c := range m.conns {
		select {
		case <-c.firstAttempt:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close disconnects every server and ends stdio servers' process groups.
func (m *Manager) Close() error {
	m.mu.Lock()
	cancel := m.cancel
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	m.wg.Wait()
	return nil
}

// Run starts the manager, waits for ctx to be done and closes it.
func (m *Manager) Run(ctx context.Context) error {
	m.Start(ctx)
	<-ctx.Done()
	return m.Close()
}

// ServerStatus is a server's state as the API reports it.
type ServerStatus struct {
	Name            string    `json:"name"`
	Transport       string    `json:"transport"`
	State           string    `json:"state"`
	ProtocolVersion string    `json:"protocol_version,omitempty"`
	ServerName      string    `json:"server_name,omitempty"`
	ServerVersion   string    `json:"server_version,omitempty"`
	Tools           int       `json:"tools"`
	Prompts         int       `json:"prompts"`
	Resources       int       `json:"resources"`
	LastError       string    `json:"last_error,omitempty"`
	ConnectedAt     time.Time `json:"connected_at,omitzero"`
	Reconnects      int       `json:"reconnects"`
	CircuitOpen     bool      `json:"circuit_open"`
	InFlight        int       `json:"in_flight"`
	ListChanged     int       `json:"list_changed"`
	PID             int       `json:"pid,omitempty"`
}

// Servers reports every managed server, in config order.
func (m *Manager) Servers() []ServerStatus {
	out := make([]ServerStatus, 0, len(m.conns))
	for _, c := range m.conns {
		out = append(out, c.status())
	}
	return out
}

// Server reports one server.
func (m *Manager) Server(name string) (ServerStatus, bool) {
	c, ok := m.byName[name]
	if !ok {
		return ServerStatus{}, false
	}
	return c.status(), true
}

// Tool is a tool in the aggregated catalog.
type Tool struct {
	// Name is the namespaced name, "server.tool".
	Name   string    `json:"name"`
	Server string    `json:"server"`
	Tool   *mcp.Tool `json:"tool"`
}

// Tools lists the tools of every connected server, sorted by name.
func (m *Manager) Tools() []Tool {
	var out []Tool
	for _, c := range m.conns {
		cat := c.catalogSnapshot()
		for _, t := range cat.tools {
			out = append(out, Tool{Name: c.spec.Name + "." + t.Name, Server: c.spec.Name, Tool: t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Prompt is a prompt in the aggregated catalog.
type Prompt struct {
	Name   string      `json:"name"`
	Server string      `json:"server"`
	Prompt *mcp.Prompt `json:"prompt"`
}

// Prompts lists the prompts of every connected server.
func (m *Manager) Prompts() []Prompt {
	var out []Prompt
	for _, c := range m.conns {
		for _, p := range c.catalogSnapshot().prompts {
			out = append(out, Prompt{Name: c.spec.Name + "." + p.Name, Server: c.spec.Name, Prompt: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Resource is a resource in the aggregated catalog. URIs are not
// namespaced; Server says where to read it.
type Resource struct {
	Server   string        `json:"server"`
	Resource *mcp.Resource `json:"resource"`
}

// Resources lists the resources of every connected server.
func (m *Manager) Resources() []Resource {
	var out []Resource
	for _, c := range m.conns {
		for _, r := range c.catalogSnapshot().resources {
			out = append(out, Resource{Server: c.spec.Name, Resource: r})
		}
	}
	return out
}

// SplitName splits a namespaced name "server.tool" at the first dot.
// Server names cannot contain dots; tool names may.
func SplitName(name string) (server, item string, ok bool) {
	server, item, ok = strings.Cut(name, ".")
	return server, item, ok && server != "" && item != ""
}

// CallOptions adjust one call. Nil means defaults.
type CallOptions struct {
	// Timeout overrides the server's call_timeout.
	Timeout time.Duration
	// Progress, if set, receives the server's progress notifications for
	// this call.
	Progress func(*mcp.ProgressNotificationParams)

	// connDeadline: the call enforces its timeout itself, as a deadline on
	// its connection (the raw forwarding path), so do sets deadline
	// instead of deriving a context with a timer.
	connDeadline bool
	deadline     time.Time
}

// CallTool calls a namespaced tool ("server.tool"). A tool that fails
// returns a result with IsError set and a nil error; an error means the
// call did not complete (unknown tool, server down, timeout, cancellation,
// protocol failure). Cancelling ctx cancels the call on the server.
func (m *Manager) CallTool(ctx context.Context, name string, args any, opts *CallOptions) (*mcp.CallToolResult, error) {
	server, tool, ok := SplitName(name)
	if !ok {
		return nil, fmt.Errorf("%w %q: want server.tool", ErrUnknownTool, name)
	}
	c, ok := m.byName[server]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	if !c.hasTool(tool) {
		return nil, fmt.Errorf("%w %q on server %q", ErrUnknownTool, tool, server)
	}
	var res *mcp.CallToolResult
	err := c.do(ctx, "tools/call", opts, func(ctx context.Context, s *mcp.ClientSession, token any) error {
		p := &mcp.CallToolParams{Name: tool, Arguments: args}
		if token != nil {
			p.SetProgressToken(token)
		}
		r, err := s.CallTool(ctx, p)
		res = r
		return err
	})
	if err == nil && res != nil && res.IsError {
		m.metrics.calls.WithLabelValues(server, "tool_error").Inc()
	}
	return res, err
}

// GetPrompt gets a namespaced prompt ("server.prompt").
func (m *Manager) GetPrompt(ctx context.Context, name string, args map[string]string) (*mcp.GetPromptResult, error) {
	server, prompt, ok := SplitName(name)
	if !ok {
		return nil, fmt.Errorf("prompt %q: want server.prompt", name)
	}
	c, ok := m.byName[server]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	var res *mcp.GetPromptResult
	err := c.do(ctx, "prompts/get", nil, func(ctx context.Context, s *mcp.ClientSession, _ any) error {
		r, err := s.GetPrompt(ctx, &mcp.GetPromptParams{Name: prompt, Arguments: args})
		res = r
		return err
	})
	return res, err
}

// ReadResource reads uri from server.
func (m *Manager) ReadResource(ctx context.Context, server, uri string) (*mcp.ReadResourceResult, error) {
	c, ok := m.byName[server]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	var res *mcp.ReadResourceResult
	err := c.do(ctx, "resources/read", nil, func(ctx context.Context, s *mcp.ClientSession, _ any) error {
		r, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		res = r
		return err
	})
	return res, err
}
