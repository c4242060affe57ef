package mcpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// statelessVersion is the first revision whose HTTP transport has no
// sessions; requests that announce it (or a later one) go to the stateless
// handler.
const statelessVersion = "2026-07-28"

// DefaultMaxBodyBytes bounds an MCP request body unless HTTPOptions says
// otherwise.
const DefaultMaxBodyBytes = 4 << 20

// HTTPOptions configure Server.HTTPHandler. Nil means defaults.
type HTTPOptions struct {
	// StatelessOnly serves every request without sessions. By default
	// 2025-06-18 and 2025-11-25 clients get sessions (needed for sampling,
	// elicitation and subscriptions) and 2026-07-28 clients are stateless.
	StatelessOnly bool
	// JSONResponse answers with application/json instead of SSE where the
	// handler does not stream.
	JSONResponse bool
	// AllowedHosts are Host header values accepted besides loopback names.
	AllowedHosts []string
	// AllowedOrigins are Origin values (scheme://host[:port]) accepted
	// besides loopback origins. Requests without Origin are accepted.
	AllowedOrigins []string
	// MaxBodyBytes bounds request bodies (413 above it).
	MaxBodyBytes int64
	// SessionTimeout closes idle sessions; zero means 30 minutes.
	SessionTimeout time.Duration
	Logger         *slog.Logger
}

// HTTPHandler serves the server over Streamable HTTP at every path it is
// mounted on. It routes on the MCP-Protocol-Version header: 2026-07-28
// requests are served statelessly, earlier revisions with sessions.
func (s *Server) HTTPHandler(opts *HTTPOptions) http.Handler {
	if opts == nil {
		opts = &HTTPOptions{}
	}
	maxBody := opts.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	idle := opts.SessionTimeout
	if idle == 0 {
		idle = 30 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = s.log
	}
	get := func(*http.Request) *mcp.Server { return s.s }
	stateless := mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{
		Stateless:                    true,
		JSONResponse:                 opts.JSONResponse,
		Logger:                       log,
		MaxRequestBodyBytes:          maxBody,
		PropagateRequestCancellation: true,
	})
	var stateful http.Handler = stateless
	if !opts.StatelessOnly {
		// A bounded in-memory event store lets 2025-11-25 clients resume a
		// stream after a disconnect or a server-initiated close (polling).
		events := mcp.NewMemoryEventStore(nil)
		events.SetMaxBytes(8 << 20)
		stateful = mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{
			EventStore:          events,
			JSONResponse:        opts.JSONResponse,
			Logger:              log,
			MaxRequestBodyBytes: maxBody,
			SessionTimeout:      idle,
		})
	}
	route := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("MCP-Protocol-Version"); v >= statelessVersion {
			stateless.ServeHTTP(w, r)
			return
		}
		stateful.ServeHTTP(w, r)
	})
	return OriginGuard(route, opts.AllowedHosts, opts.AllowedOrigins)
}

// OriginGuard rejects requests whose Host or Origin is not loopback or
// explicitly allowed, with 403 and a JSON-RPC error body. It defends local
// servers against DNS rebinding and browsers on other sites.
func OriginGuard(next http.Handler, allowedHosts, allowedOrigins []string) http.Handler {
	check := NewHostCheck(allowedHosts, allowedOrigins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := check.Reject(r); reason != "" {
			forbid(w, reason)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// HostCheck decides whether a request's Host and Origin are acceptable:
// loopback names always are, others only when listed.
type HostCheck struct {
	hosts   map[string]bool
	origins map[string]bool
}

// NewHostCheck builds a check that also accepts the given Host values and
// Origins (scheme://host[:port]).
func NewHostCheck(allowedHosts, allowedOrigins []string) *HostCheck {
	c := &HostCheck{hosts: map[string]bool{}, origins: map[string]bool{}}
	for _, h := range allowedHosts {
		c.hosts[strings.ToLower(stripPort(h))] = true
	}
	for _, o := range allowedOrigins {
		c.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return c
}

// Reject returns why r must be refused, or "" when it is acceptable.
func (c *HostCheck) Reject(r *http.Request) string {
	host := strings.ToLower(stripPort(r.Host))
	if !isLoopbackName(host) && !c.hosts[host] {
		return "Host header not allowed"
	}
	if o := r.Header.Get("Origin"); o != "" && !c.origins[strings.ToLower(o)] {
		u, err := url.Parse(o)
		if err != nil || !isLoopbackName(strings.ToLower(u.Hostname())) {
			return "Origin not allowed"
		}
	}
	return ""
}

func forbid(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":%q}}`, "Forbidden: "+msg)
}

func stripPort(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return strings.Trim(h, "[]")
	}
	return strings.Trim(hostport, "[]")
}

func isLoopbackName(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrNotLoopback is returned by Listen for an address that is reachable
// from other machines: the kit's listeners carry no authentication, so they
// stay on loopback; put the gateway in front to expose a server.
var ErrNotLoopback = errors.New("address is not loopback; MCP listeners without authentication bind loopback only (expose servers through 'mcpsoc gateway')")

// Listen opens a TCP listener on a loopback address ("127.0.0.1:0" picks a
// free port).
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "" || !isLoopbackName(strings.ToLower(host)) {
		return nil, fmt.Errorf("listen address %q: %w", addr, ErrNotLoopback)
	}
	return net.Listen("tcp", addr)
}

// ServeHTTP serves h on ln until ctx is done, then shuts down gracefully.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
