// Package api serves MCPSoc's REST API, metrics and health endpoints over
// HTTP. It translates between HTTP and the components it is given; it owns
// authentication of API clients and the OpenAPI document, not the data.
package api

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed openapi.json
var openAPI []byte

// MCPCatalog is what the API reads of the MCP host.
type MCPCatalog interface {
	Servers() []mcpx.ServerStatus
	Server(name string) (mcpx.ServerStatus, bool)
	Tools() []mcpx.Tool
}

// Options configure New. Nil fields mean "not available".
type Options struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	MCP      MCPCatalog
	// Events serves /api/v1/events when set.
	Events EventStore
	// Ingest serves POST /api/v1/ingest when set; it authenticates pushes
	// itself (ingest keys), so the API keys do not apply to it.
	Ingest http.Handler
	// MCPServer serves MCPSoc's own MCP server at /mcp when set, behind
	// MCPKeys (required: the endpoint is never open).
	MCPServer http.Handler
	MCPKeys   []config.Secret
	// TAXII serves the read-only TAXII 2.1 endpoint at /taxii2/ when set;
	// it authenticates peers itself (intel.taxii.api_keys and APIKeys).
	TAXII http.Handler
	// ReloadDetection, when set, serves POST /api/v1/detect/reload: it
	// rebuilds detection from the current rule files and configuration and
	// returns why a new rule set was rejected (the running one then stays).
	ReloadDetection func() error
	// APIKeys, when non-empty, are required on every route but the health
	// checks.
	APIKeys []config.Secret
	// AllowedHosts are accepted Host values besides loopback names.
	AllowedHosts []string
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
}

// Server is the API's HTTP handler. Mark it ready with SetReady once the
// components it serves have started.
type Server struct {
	opts    Options
	log     *slog.Logger
	keys    config.KeySet
	ready   atomic.Bool
	handler http.Handler
}

// New builds the API handler.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = config.DefaultMaxBodyBytes
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "api")}
	s.keys = config.NewKeySet(opts.APIKeys)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	mux.HandleFunc("GET /api/v1/mcp/servers", s.listServers)
	mux.HandleFunc("GET /api/v1/mcp/servers/{name}", s.getServer)
	mux.HandleFunc("GET /api/v1/mcp/tools", s.listTools)
	mux.HandleFunc("GET /api/v1/events", s.searchEvents)
	mux.HandleFunc("GET /api/v1/events/{id}", s.getEvent)
	mux.HandleFunc("GET /api/v1/alerts", s.searchAlerts)
	mux.HandleFunc("POST /api/v1/detect/reload", s.reloadDetection)
	if opts.Ingest != nil {
		mux.Handle("POST /api/v1/ingest", opts.Ingest)
	}
	if opts.TAXII != nil {
		mux.Handle("/taxii2/", opts.TAXII)
	}
	if opts.MCPServer != nil {
		mux.Handle("/mcp", requireKey(config.NewKeySet(opts.MCPKeys), opts.MCPServer))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	s.handler = s.checkHost(s.authenticate(limitBody(mux, opts.MaxBodyBytes)), mcpx.NewHostCheck(opts.AllowedHosts, nil))
	return s
}

// SetReady marks the service ready (or not) for /readyz.
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	s.handler.ServeHTTP(w, r)
}

// authenticate requires an API key, when keys are configured, on every
// route but the health checks. Keys are compared as SHA-256 digests in
// constant time.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/api/v1/ingest", "/mcp": // public, or with keys of their own
			next.ServeHTTP(w, r)
			return
		}
		if s.keys.Len() == 0 || s.keys.Allows(r) || (s.opts.TAXII != nil && strings.HasPrefix(r.URL.Path, "/taxii2/")) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="mcpsoc"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "a valid API key is required")
	})
}

// requireKey refuses requests without one of keys; with no keys at all it
// refuses everything.
func requireKey(keys config.KeySet, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !keys.Allows(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcpsoc"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid key is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkHost refuses requests for other host names (DNS rebinding) and from
// foreign browser origins.
func (s *Server) checkHost(next http.Handler, check *mcpx.HostCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := check.Reject(r); reason != "" {
			writeError(w, http.StatusForbidden, "forbidden", reason)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func limitBody(next http.Handler, n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) listServers(w http.ResponseWriter, _ *http.Request) {
	servers := []mcpx.ServerStatus{}
	if s.opts.MCP != nil {
		servers = append(servers, s.opts.MCP.Servers()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"servers": servers})
}

func (s *Server) getServer(w http.ResponseWriter, r *http.Request) {
	if s.opts.MCP != nil {
		if st, ok := s.opts.MCP.Server(r.PathValue("name")); ok {
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no MCP server with that name")
}

// toolView is a catalog entry as the API shows it.
type toolView struct {
	Name         string `json:"name"`
	Server       string `json:"server"`
	Tool         string `json:"tool"`
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
	InputSchema  any    `json:"input_schema,omitempty"`
	OutputSchema any    `json:"output_schema,omitempty"`
	Annotations  any    `json:"annotations,omitempty"`
}

func (s *Server) listTools(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("server")
	tools := []toolView{}
	if s.opts.MCP != nil {
		for _, t := range s.opts.MCP.Tools() {
			if filter != "" && t.Server != filter {
				continue
			}
			v := toolView{Name: t.Name, Server: t.Server, Tool: t.Tool.Name, Title: t.Tool.Title,
				Description: t.Tool.Description, InputSchema: t.Tool.InputSchema, OutputSchema: t.Tool.OutputSchema}
			if t.Tool.Annotations != nil {
				v.Annotations = t.Tool.Annotations
			}
			tools = append(tools, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tools": tools})
}

// reloadDetection reloads the rules. It requires a JSON content type, which
// a browser cannot send across sites without a CORS preflight, so a web
// page cannot trigger it on a loopback API without keys.
func (s *Server) reloadDetection(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send Content-Type: application/json")
		return
	}
	if s.opts.ReloadDetection == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "detection is not running")
		return
	}
	if err := s.opts.ReloadDetection(); err != nil {
		// The reason names rule files and lines: the caller holds an API
		// key (or is on loopback) and needs it to fix the rules.
		writeError(w, http.StatusUnprocessableEntity, "rejected", "the new rule set was rejected; the running rules stay in force: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"result": "reloaded"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers with a stable error code and message. Internal error
// text never reaches clients: callers log it under the returned id.
func writeError(w http.ResponseWriter, status int, code, msg string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg, "id": id}})
	return id
}

// ReadHeaderTimeout bounds slow clients on the API listener.
const ReadHeaderTimeout = 10 * time.Second
