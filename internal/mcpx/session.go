package mcpx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Relaying server-to-client traffic. A server's requests to its client
// (sampling/createMessage, elicitation/create, roots/list) and its
// notifications about one call (progress, log messages) carry nothing that
// ties them to the call that caused them except the connection they arrive
// on. A host that serves several users therefore gives each user's session
// its own connection to the server (Manager.OpenSession): whatever arrives
// on it belongs to that user, and the handlers relay it to that user's
// client only. The shared connection keeps serving everyone else.

// ClientHandlers relay what a server sends on a dedicated session. Nil
// handlers leave the matching capability unadvertised (the server is told
// the client cannot sample or elicit) or drop the notification.
type ClientHandlers struct {
	CreateMessage func(context.Context, *mcp.CreateMessageParams) (*mcp.CreateMessageResult, error)
	Elicit        func(context.Context, *mcp.ElicitParams) (*mcp.ElicitResult, error)
	Log           func(context.Context, *mcp.LoggingMessageParams)
	Progress      func(context.Context, *mcp.ProgressNotificationParams)
	// Roots, when not nil, are the user's roots, answered to roots/list
	// (the roots capability is announced even for an empty list).
	Roots []*mcp.Root
	// LogLevel, when set, is sent with logging/setLevel after connecting.
	LogLevel mcp.LoggingLevel
	// ProtocolVersion is offered instead of the entry's protocol_version.
	// Servers may send requests to their client only on revisions before
	// 2026-07-28 (later ones use multi-round-trip results), so a relaying
	// session asks for the version its user's client speaks.
	ProtocolVersion string
}

// Session is a dedicated connection to one server (see OpenSession). Its
// calls share the server's concurrency limit and timeouts.
type Session struct {
	c       *conn
	s       *mcp.ClientSession
	client  *mcp.Client
	cleanup func()
	once    sync.Once

	rootsMu sync.Mutex
	roots   map[string]*mcp.Root // by URI, as the client holds them
}

// SetRoots replaces the roots the session answers roots/list with (for a
// session opened with Roots) and, if they changed, sends the server
// notifications/roots/list_changed, so that it lists them again.
func (x *Session) SetRoots(roots []*mcp.Root) {
	x.rootsMu.Lock()
	defer x.rootsMu.Unlock()
	keep := make(map[string]*mcp.Root, len(roots))
	for _, r := range roots {
		if r != nil {
			keep[r.URI] = r
		}
	}
	var gone []string
	var add []*mcp.Root
	for uri, old := range x.roots {
		if nr, ok := keep[uri]; !ok || nr.Name != old.Name {
			gone = append(gone, uri)
		}
	}
	for uri, r := range keep {
		if old, ok := x.roots[uri]; !ok || old.Name != r.Name {
			add = append(add, r)
		}
	}
	if len(gone) == 0 && len(add) == 0 {
		return
	}
	// Each call notifies the server once; a change of both kinds sends
	// two notifications, which only makes it list the roots twice.
	if len(gone) > 0 {
		x.client.RemoveRoots(gone...)
	}
	if len(add) > 0 {
		x.client.AddRoots(add...)
	}
	x.roots = keep
}

// OpenSession opens a dedicated session to server whose server-to-client
// requests and notifications go to h. For a stdio server it starts another
// process. Close it when the user's session ends.
func (m *Manager) OpenSession(ctx context.Context, server string, h ClientHandlers) (*Session, error) {
	c, ok := m.byName[server]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	opts := &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}}
	if h.CreateMessage != nil {
		opts.CreateMessageHandler = func(ctx context.Context, r *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return h.CreateMessage(ctx, r.Params)
		}
	}
	if h.Elicit != nil {
		opts.ElicitationHandler = func(ctx context.Context, r *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return h.Elicit(ctx, r.Params)
		}
		opts.Capabilities.Elicitation = &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}, URL: &mcp.URLElicitationCapabilities{}}
	}
	if h.Log != nil {
		opts.LoggingMessageHandler = func(ctx context.Context, r *mcp.LoggingMessageRequest) { h.Log(ctx, r.Params) }
	}
	if h.Progress != nil {
		opts.ProgressNotificationHandler = func(ctx context.Context, r *mcp.ProgressNotificationClientRequest) { h.Progress(ctx, r.Params) }
	}
	if h.Roots != nil {
		// listChanged: SetRoots tells the server when the user's roots change.
		opts.Capabilities.RootsV2 = &mcp.RootCapabilities{ListChanged: true}
	}
	cctx, cancel := context.WithTimeout(ctx, c.spec.ConnectTimeout)
	defer cancel()
	s, client, _, cleanup, err := c.dial(cctx, opts, h.ProtocolVersion, h.Roots...)
	if err != nil {
		return nil, err
	}
	if h.LogLevel != "" {
		if ir := s.InitializeResult(); ir != nil && ir.Capabilities != nil && ir.Capabilities.Logging != nil {
			_ = s.SetLoggingLevel(cctx, &mcp.SetLoggingLevelParams{Level: h.LogLevel})
		}
	}
	c.log.Info("dedicated session opened")
	x := &Session{c: c, s: s, client: client, cleanup: cleanup, roots: map[string]*mcp.Root{}}
	for _, r := range h.Roots {
		if r != nil {
			x.roots[r.URI] = r
		}
	}
	return x, nil
}

// CallTool calls tool on the dedicated session. progressToken, when not
// nil, is passed to the server, whose progress notifications reach the
// session's Progress handler.
func (x *Session) CallTool(ctx context.Context, tool string, args any, progressToken any) (*mcp.CallToolResult, error) {
	select {
	case x.c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-x.c.sem }()
	timeout := x.c.spec.CallTimeout
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := &mcp.CallToolParams{Name: tool, Arguments: args}
	switch t := progressToken.(type) {
	case nil:
	case string, int, int32, int64:
		p.SetProgressToken(t)
	case float64:
		// JSON numbers decode as float64; the SDK wants an integer.
		if t == float64(int64(t)) {
			p.SetProgressToken(int64(t))
		} else {
			p.SetProgressToken(strconv.FormatFloat(t, 'g', -1, 64))
		}
	default:
		p.SetProgressToken(fmt.Sprint(t))
	}
	res, err := x.s.CallTool(ctx, p)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("tools/call on %s: timed out after %s: %w", x.c.spec.Name, timeout, context.DeadlineExceeded)
	}
	return res, err
}

// SetLoggingLevel changes the level of log messages the server sends.
func (x *Session) SetLoggingLevel(ctx context.Context, level mcp.LoggingLevel) error {
	return x.s.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: level})
}

// Close ends the session (and its process, for stdio servers).
func (x *Session) Close() {
	x.once.Do(func() {
		_ = x.s.Close()
		x.cleanup()
	})
}

func (c *conn) onResourceUpdated(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
	if f := c.m.opts.ResourceUpdated; f != nil && r.Params != nil {
		f(c.spec.Name, r.Params)
	}
}

// Subscribe asks server, on its shared session, for
// notifications/resources/updated about uri (see
// ManagerOptions.ResourceUpdated).
func (m *Manager) Subscribe(ctx context.Context, server, uri string) error {
	c, ok := m.byName[server]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	return c.do(ctx, "resources/subscribe", nil, func(ctx context.Context, s *mcp.ClientSession, _ any) error {
		return s.Subscribe(ctx, &mcp.SubscribeParams{URI: uri})
	})
}

// Unsubscribe ends a subscription made with Subscribe.
func (m *Manager) Unsubscribe(ctx context.Context, server, uri string) error {
	c, ok := m.byName[server]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	return c.do(ctx, "resources/unsubscribe", nil, func(ctx context.Context, s *mcp.ClientSession, _ any) error {
		return s.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri})
	})
}

// Complete asks server for argument completions.
func (m *Manager) Complete(ctx context.Context, server string, params *mcp.CompleteParams) (*mcp.CompleteResult, error) {
	c, ok := m.byName[server]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	var res *mcp.CompleteResult
	err := c.do(ctx, "completion/complete", nil, func(ctx context.Context, s *mcp.ClientSession, _ any) error {
		r, err := s.Complete(ctx, params)
		res = r
		return err
	})
	return res, err
}
