package mcpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
)

// Connection states reported by ServerStatus.State.
const (
	StateConnecting = "connecting"
	StateUp         = "up"
	StateDown       = "down"
)

// catalog is what one server offers; replaced whole on every refresh.
type catalog struct {
	tools     []*mcp.Tool
	toolSet   map[string]bool
	prompts   []*mcp.Prompt
	resources []*mcp.Resource
}

// conn keeps one server connected. Its run loop owns the session; calls
// borrow the current session under mu.
type conn struct {
	spec config.MCPServer
	m    *Manager
	log  *slog.Logger
	sem  chan struct{}

	firstAttempt chan struct{}
	firstOnce    sync.Once
	refresh      chan struct{} // a list_changed arrived
	kick         chan struct{} // a call saw the connection die
	cat          atomic.Pointer[catalog]
	inFlight     atomic.Int64
	listChanged  atomic.Int64 // list_changed notifications received
	progressSeq  atomic.Uint64
	progress     sync.Map                    // token string → func(*mcp.ProgressNotificationParams)
	fwd          atomic.Pointer[forwardPath] // set while a stateless HTTP session is up
	procs        sync.Map                    // mcp.Transport -> *stdioProcess

	// The metrics of a successful call, resolved once: looking a labelled
	// series up hashes its labels on every call.
	okCalls prometheus.Counter
	latency prometheus.Observer

	mu          sync.Mutex
	state       string
	session     *mcp.ClientSession
	info        *mcp.InitializeResult
	pid         int // stdio server process, while connected
	lastErr     string
	connectedAt time.Time
	reconnects  int
	failures    int       // consecutive failed calls
	openUntil   time.Time // circuit open until then
	trial       bool      // a half-open trial call is in flight
}

func newConn(spec config.MCPServer, m *Manager) *conn {
	n := spec.MaxConcurrency
	if n <= 0 {
		n = config.DefaultMaxConcurrency
	}
	c := &conn{
		spec:         spec,
		m:            m,
		log:          m.opts.Logger.With("component", "mcp.client", "server", spec.Name),
		sem:          make(chan struct{}, n),
		firstAttempt: make(chan struct{}),
		refresh:      make(chan struct{}, 1),
		kick:         make(chan struct{}, 1),
		state:        StateConnecting,
	}
	c.okCalls = m.metrics.calls.WithLabelValues(spec.Name, "ok")
	c.latency = m.metrics.latency.WithLabelValues(spec.Name)
	c.cat.Store(&catalog{toolSet: map[string]bool{}})
	return c
}

func (c *conn) catalogSnapshot() *catalog { return c.cat.Load() }

func (c *conn) hasTool(name string) bool { return c.cat.Load().toolSet[name] }

// run connects, serves and reconnects until ctx is done.
func (c *conn) run(ctx context.Context) {
	backoff := c.m.opts.BackoffMin
	for {
		s, cleanup, err := c.connect(ctx)
		if err != nil {
			// Record the failure before releasing WaitReady, so nobody sees
			// a finished first attempt still "connecting".
			c.setDown(err)
			c.firstOnce.Do(func() { close(c.firstAttempt) })
		} else {
			c.firstOnce.Do(func() { close(c.firstAttempt) })
			backoff = c.m.opts.BackoffMin
			err = c.serve(ctx, s)
			cleanup()
			c.setDown(err)
		}
		if ctx.Err() != nil {
			return
		}
		delay := backoff + time.Duration(rand.Int64N(int64(backoff)/2+1))
		c.log.Warn("server disconnected; reconnecting", "error", err, "delay", delay.Round(time.Millisecond))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, c.m.opts.BackoffMax)
		c.mu.Lock()
		c.reconnects++
		c.state = StateConnecting
		c.mu.Unlock()
		c.m.metrics.reconnects.WithLabelValues(c.spec.Name).Inc()
	}
}

// connect opens a session and loads the catalog. cleanup ends the session
// and, for stdio servers, the whole process group.
func (c *conn) connect(ctx context.Context) (*mcp.ClientSession, func(), error) {
	cctx, cancel := context.WithTimeout(ctx, c.spec.ConnectTimeout)
	defer cancel()
	s, _, transport, cleanup, err := c.dial(cctx, &mcp.ClientOptions{
		Capabilities:                &mcp.ClientCapabilities{},
		ElicitationHandler:          c.m.opts.ElicitationHandler,
		ToolListChangedHandler:      func(context.Context, *mcp.ToolListChangedRequest) { c.requestRefresh() },
		PromptListChangedHandler:    func(context.Context, *mcp.PromptListChangedRequest) { c.requestRefresh() },
		ResourceListChangedHandler:  func(context.Context, *mcp.ResourceListChangedRequest) { c.requestRefresh() },
		ResourceUpdatedHandler:      c.onResourceUpdated,
		ProgressNotificationHandler: c.onProgress,
	}, "")
	if err != nil {
		return nil, func() {}, err
	}
	inproc := c.m.opts.InProcess[c.spec.Name]
	proc := c.proc(transport)
	sessionCleanup := func() {
		_ = s.Close()
		cleanup()
	}
	cat, err := loadCatalog(cctx, s)
	if err != nil {
		sessionCleanup()
		return nil, func() {}, fmt.Errorf("listing: %w", err)
	}
	c.cat.Store(cat)
	info := s.InitializeResult()
	c.mu.Lock()
	c.session, c.info = s, info
	if proc != nil {
		c.pid = proc.cmd.Process.Pid
	}
	c.state, c.lastErr, c.connectedAt = StateUp, "", time.Now()
	c.failures, c.openUntil = 0, time.Time{}
	c.mu.Unlock()
	c.m.metrics.up.WithLabelValues(c.spec.Name).Set(1)
	version := ""
	if info != nil {
		version = info.ProtocolVersion
	}
	if inproc == nil {
		c.fwd.Store(c.newForwardPath(transport, version))
	}
	c.log.Info("server connected", "protocol_version", version, "tools", len(cat.tools))
	return s, sessionCleanup, nil
}

// dial starts (or reaches) the server and opens one client session with
// opts. cleanup ends the session's process group for stdio servers.
func (c *conn) dial(ctx context.Context, opts *mcp.ClientOptions, version string, roots ...*mcp.Root) (*mcp.ClientSession, *mcp.Client, mcp.Transport, func(), error) {
	var (
		transport mcp.Transport
		proc      *stdioProcess
		stderr    io.Closer
		waitLog   = func() {}
	)
	inproc := c.m.opts.InProcess[c.spec.Name]
	switch {
	case inproc != nil:
		ct, st := mcp.NewInMemoryTransports()
		// The server side ends when the client session closes the pipe.
		if _, err := inproc.Connect(ctx, st, nil); err != nil {
			return nil, nil, nil, func() {}, fmt.Errorf("in-process server: %w", err)
		}
		transport = ct
	case c.spec.Transport() == "stdio":
		w, wait := stderrLogger(c.log)
		stderr, waitLog = w, wait
		p, t, err := startStdio(stdioCommand(c.spec, w), c.m.opts.MaxMessageBytes)
		if err != nil {
			_ = w.Close()
			wait()
			return nil, nil, nil, func() {}, err
		}
		proc, transport = p, t
	default:
		t, err := httpTransport(c.spec, c.m.opts.OAuthCodeFetcher)
		if err != nil {
			return nil, nil, nil, func() {}, err
		}
		t.MaxEventSize = c.m.opts.MaxMessageBytes
		transport = t
	}
	client := mcp.NewClient(&mcp.Implementation{Name: c.m.opts.ClientName, Version: c.m.opts.ClientVersion}, opts)
	client.AddRoots(roots...)
	cleanup := func() {
		if proc != nil {
			proc.stop(2 * time.Second)
		}
		if stderr != nil {
			_ = stderr.Close()
			waitLog()
		}
	}
	if version == "" {
		version = c.spec.ProtocolVersion
	}
	s, err := client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		cleanup()
		return nil, nil, nil, func() {}, fmt.Errorf("connecting: %w", err)
	}
	if proc != nil {
		c.procs.Store(transport, proc)
		inner := cleanup
		cleanup = func() { c.procs.Delete(transport); inner() }
	}
	return s, client, transport, cleanup, nil
}

// proc returns the stdio process behind a transport dial returned.
func (c *conn) proc(t mcp.Transport) *stdioProcess {
	if p, ok := c.procs.Load(t); ok {
		return p.(*stdioProcess)
	}
	return nil
}

// loadCatalog lists tools, prompts and resources the server advertises.
func loadCatalog(ctx context.Context, s *mcp.ClientSession) (*catalog, error) {
	cat := &catalog{toolSet: map[string]bool{}}
	caps := &mcp.ServerCapabilities{}
	if ir := s.InitializeResult(); ir != nil && ir.Capabilities != nil {
		caps = ir.Capabilities
	}
	if caps.Tools != nil {
		for t, err := range s.Tools(ctx, nil) {
			if err != nil {
				return nil, fmt.Errorf("tools: %w", err)
			}
			cat.tools = append(cat.tools, t)
			cat.toolSet[t.Name] = true
		}
	}
	if caps.Prompts != nil {
		for p, err := range s.Prompts(ctx, nil) {
			if err != nil {
				return nil, fmt.Errorf("prompts: %w", err)
			}
			cat.prompts = append(cat.prompts, p)
		}
	}
	if caps.Resources != nil {
		for r, err := range s.Resources(ctx, nil) {
			if err != nil {
				return nil, fmt.Errorf("resources: %w", err)
			}
			cat.resources = append(cat.resources, r)
		}
	}
	return cat, nil
}

func (c *conn) requestRefresh() {
	c.listChanged.Add(1)
	select {
	case c.refresh <- struct{}{}:
	default:
	}
}

func (c *conn) requestReconnect() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// serve watches a live session: list changes, health checks, the session
// ending, or ctx. It returns why the session is over.
func (c *conn) serve(ctx context.Context, s *mcp.ClientSession) error {
	ended := make(chan error, 1)
	go func() { ended <- s.Wait() }()
	interval := c.spec.HealthInterval
	if interval <= 0 {
		interval = config.DefaultHealthInterval
	}
	health := time.NewTicker(interval)
	defer health.Stop()
	misses := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-ended:
			if err == nil {
				err = errors.New("connection closed by server")
			}
			return err
		case <-c.kick:
			return errors.New("connection failed during a call")
		case <-c.refresh:
			rctx, cancel := context.WithTimeout(ctx, c.spec.ConnectTimeout)
			cat, err := loadCatalog(rctx, s)
			cancel()
			if err != nil {
				c.log.Warn("refreshing catalog after list_changed", "error", err)
				continue
			}
			c.cat.Store(cat)
			c.log.Info("catalog refreshed", "tools", len(cat.tools), "prompts", len(cat.prompts), "resources", len(cat.resources))
		case <-health.C:
			if err := c.healthCheck(ctx, s); err != nil {
				misses++
				c.log.Warn("health check failed", "error", err, "misses", misses)
				if misses >= 2 {
					return fmt.Errorf("health check: %w", err)
				}
				continue
			}
			misses = 0
		}
	}
}

// healthCheck pings legacy sessions; 2026-07-28 removed ping, so modern
// sessions list tools instead.
func (c *conn) healthCheck(ctx context.Context, s *mcp.ClientSession) error {
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ir := s.InitializeResult(); ir != nil && ir.ProtocolVersion >= statelessVersion {
		_, err := s.ListTools(hctx, nil)
		return err
	}
	return s.Ping(hctx, nil)
}

func (c *conn) setDown(err error) {
	c.mu.Lock()
	c.session, c.state, c.pid = nil, StateDown, 0
	if old := c.fwd.Swap(nil); old != nil && old.raw != nil {
		old.raw.close()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		c.lastErr = err.Error()
	}
	c.mu.Unlock()
	c.cat.Store(&catalog{toolSet: map[string]bool{}})
	c.m.metrics.up.WithLabelValues(c.spec.Name).Set(0)
}

func (c *conn) onProgress(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
	if req.Params == nil {
		return
	}
	if f, ok := c.progress.Load(fmt.Sprint(req.Params.ProgressToken)); ok {
		f.(func(*mcp.ProgressNotificationParams))(req.Params)
	}
}

// do runs one request against the current session under the server's
// concurrency limit, timeout and circuit breaker.
func (c *conn) do(ctx context.Context, method string, opts *CallOptions, fn func(context.Context, *mcp.ClientSession, any) error) error {
	if opts == nil {
		opts = &CallOptions{}
	}
	s, trial, err := c.admit()
	if err != nil {
		c.m.metrics.calls.WithLabelValues(c.spec.Name, "rejected").Inc()
		return err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		c.endTrial(trial)
		return ctx.Err()
	}
	defer func() { <-c.sem }()
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = c.spec.CallTimeout
	}
	if timeout <= 0 {
		timeout = config.DefaultCallTimeout
	}
	start := time.Now()
	cctx := ctx
	if opts.connDeadline {
		opts.deadline = start.Add(timeout)
	} else {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var token any
	if opts.Progress != nil {
		t := "mcpsoc-" + strconv.FormatUint(c.progressSeq.Add(1), 10)
		c.progress.Store(t, opts.Progress)
		// The SDK dispatches notifications concurrently with the response,
		// so progress sent just before the result may be handled after the
		// call returns: keep the callback for a moment.
		defer time.AfterFunc(time.Second, func() { c.progress.Delete(t) })
		token = t
	}
	err = fn(cctx, s, token)
	outcome := c.settle(ctx, cctx, err, trial)
	if outcome == "ok" {
		c.okCalls.Inc()
	} else {
		c.m.metrics.calls.WithLabelValues(c.spec.Name, outcome).Inc()
	}
	c.latency.Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		return nil
	case outcome == "timeout":
		return fmt.Errorf("%s on %s: timed out after %s: %w", method, c.spec.Name, timeout, context.DeadlineExceeded)
	default:
		return fmt.Errorf("%s on %s: %w", method, c.spec.Name, err)
	}
}

// admit returns the session to use, or why none may be used now.
func (c *conn) admit() (*mcp.ClientSession, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session == nil {
		if c.lastErr != "" {
			return nil, false, fmt.Errorf("%w: %s (last error: %s)", ErrServerDown, c.spec.Name, c.lastErr)
		}
		return nil, false, fmt.Errorf("%w: %s", ErrServerDown, c.spec.Name)
	}
	if !c.openUntil.IsZero() {
		if time.Now().Before(c.openUntil) || c.trial {
			return nil, false, fmt.Errorf("%w: %s", ErrCircuitOpen, c.spec.Name)
		}
		c.trial = true // half-open: one call decides
		return c.session, true, nil
	}
	return c.session, false, nil
}

func (c *conn) endTrial(trial bool) {
	if trial {
		c.mu.Lock()
		c.trial = false
		c.mu.Unlock()
	}
}

// settle classifies a finished call and updates the breaker. Failures that
// say nothing about the server's health (the caller cancelled, the server
// answered with a JSON-RPC error) do not count.
// isRPCError reports whether err is a JSON-RPC error from the server (a
// function of its own, so that successful calls do not allocate the target).
func isRPCError(err error) bool {
	var rpcErr *jsonrpc.Error
	return errors.As(err, &rpcErr)
}

func (c *conn) settle(caller, call context.Context, err error, trial bool) string {
	var outcome string
	failed := false
	switch {
	case err == nil:
		outcome = "ok"
	case caller.Err() != nil:
		outcome = "cancelled"
	case errors.Is(call.Err(), context.DeadlineExceeded), errors.Is(err, errCallTimedOut):
		outcome, failed = "timeout", true
	case isRPCError(err):
		outcome = "rpc_error"
	default:
		outcome, failed = "error", true
		if errors.Is(err, mcp.ErrConnectionClosed) || errors.Is(err, io.EOF) {
			c.requestReconnect()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if trial {
		c.trial = false
	}
	if !failed {
		if outcome == "ok" || outcome == "rpc_error" {
			c.failures, c.openUntil = 0, time.Time{}
		}
		return outcome
	}
	c.failures++
	if trial || c.failures >= c.m.opts.BreakerThreshold {
		c.openUntil = time.Now().Add(c.m.opts.BreakerCooldown)
		c.log.Warn("circuit opened", "failures", c.failures, "cooldown", c.m.opts.BreakerCooldown)
	}
	return outcome
}

func (c *conn) status() ServerStatus {
	cat := c.cat.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	st := ServerStatus{
		Name:        c.spec.Name,
		Transport:   c.transportName(),
		State:       c.state,
		LastError:   c.lastErr,
		Reconnects:  c.reconnects,
		CircuitOpen: !c.openUntil.IsZero() && time.Now().Before(c.openUntil),
		InFlight:    int(c.inFlight.Load()),
		ListChanged: int(c.listChanged.Load()),
		PID:         c.pid,
		Tools:       len(cat.tools),
		Prompts:     len(cat.prompts),
		Resources:   len(cat.resources),
	}
	if c.state == StateUp {
		st.ConnectedAt = c.connectedAt
		if c.info != nil {
			st.ProtocolVersion = c.info.ProtocolVersion
			if c.info.ServerInfo != nil {
				st.ServerName, st.ServerVersion = c.info.ServerInfo.Name, c.info.ServerInfo.Version
			}
		}
	}
	return st
}

func (c *conn) transportName() string {
	if c.m.opts.InProcess[c.spec.Name] != nil {
		return "inprocess"
	}
	return c.spec.Transport()
}
