package mcpx

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Hints are a tool's behaviour annotations. The kit requires them on every
// tool so a host can tell a lookup from a firewall change without guessing;
// the MCP defaults for absent hints (destructive, open-world) are the
// opposite of what most of our tools do.
type Hints struct {
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	OpenWorld   bool
}

// Common hint sets.
var (
	// ReadOnly is a query against a closed world: our store, a local file.
	ReadOnly = Hints{ReadOnly: true, Idempotent: true}
	// ReadOnlyOpenWorld is a query that reaches outside systems.
	ReadOnlyOpenWorld = Hints{ReadOnly: true, Idempotent: true, OpenWorld: true}
	// Additive changes state without destroying anything.
	Additive = Hints{}
	// Destructive changes or removes state.
	Destructive = Hints{Destructive: true}
)

func (h Hints) annotations(title string) *mcp.ToolAnnotations {
	d, o := h.Destructive, h.OpenWorld
	return &mcp.ToolAnnotations{
		Title:           title,
		ReadOnlyHint:    h.ReadOnly,
		DestructiveHint: &d,
		IdempotentHint:  h.Idempotent,
		OpenWorldHint:   &o,
	}
}

// ToolDef describes a tool to register. Name, Description and Hints are
// required; input and output schemas are inferred from the handler's types
// unless set.
type ToolDef struct {
	Name        string
	Title       string
	Description string
	Hints       Hints
	// InputSchema and OutputSchema override inference when non-nil (any
	// value that marshals to a JSON Schema object).
	InputSchema  any
	OutputSchema any
}

func (t ToolDef) sdkTool() *mcp.Tool {
	if t.Name == "" || t.Description == "" {
		panic(fmt.Sprintf("mcpx: tool %q needs a name and a description", t.Name))
	}
	return &mcp.Tool{
		Name:         t.Name,
		Title:        t.Title,
		Description:  t.Description,
		Annotations:  t.Hints.annotations(t.Title),
		InputSchema:  t.InputSchema,
		OutputSchema: t.OutputSchema,
	}
}

// Server is an MCP server built with the kit.
type Server struct {
	s   *mcp.Server
	log *slog.Logger
}

// ServerOptions configure NewServer. Nil means defaults.
type ServerOptions struct {
	// Instructions tell a model how to use the server's tools together.
	Instructions string
	Logger       *slog.Logger
	// SDK exposes further SDK options (capabilities, handlers) for servers
	// that need them, such as the conformance fixture. Instructions and
	// Logger above take precedence.
	SDK *mcp.ServerOptions
}

// NewServer returns a server identifying itself as name/version.
func NewServer(name, version string, opts *ServerOptions) *Server {
	if opts == nil {
		opts = &ServerOptions{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	so := &mcp.ServerOptions{}
	if opts.SDK != nil {
		c := *opts.SDK
		so = &c
	}
	if opts.Instructions != "" {
		so.Instructions = opts.Instructions
	}
	so.Logger = log
	return &Server{s: mcp.NewServer(&mcp.Implementation{Name: name, Version: version}, so), log: log}
}

// SDK returns the underlying SDK server, for prompts, resources and
// notifications the kit does not wrap.
func (s *Server) SDK() *mcp.Server { return s.s }

// ToolFunc handles a call of a typed tool. Returning an error produces a
// tool result with isError set and the error text, which the model can read
// and act on; protocol errors are the SDK's concern.
type ToolFunc[In, Out any] func(ctx context.Context, req *mcp.CallToolRequest, in In) (Out, error)

// AddTool registers a typed tool: arguments are validated against the
// schema inferred from In, and the result carries Out both as structured
// content and as its JSON text for clients that read only text.
func AddTool[In, Out any](s *Server, t ToolDef, h ToolFunc[In, Out]) {
	mcp.AddTool(s.s, t.sdkTool(), func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, Out, error) {
		out, err := h(ctx, req, in)
		return nil, out, err
	})
}

// ResultFunc handles a call of a tool that builds its own result (images,
// embedded resources, several content blocks).
type ResultFunc[In any] func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, error)

// AddResultTool registers a tool whose handler returns the whole result.
func AddResultTool[In any](s *Server, t ToolDef, h ResultFunc[In]) {
	mcp.AddTool(s.s, t.sdkTool(), func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
		res, err := h(ctx, req, in)
		return res, nil, err
	})
}

// ServeStdio serves the server on standard input and output until ctx is
// done or the client closes the stream.
func (s *Server) ServeStdio(ctx context.Context) error { return s.ServeStdioLimit(ctx, 0) }

// ServeStdioLimit is ServeStdio accepting messages of up to maxBytes (0:
// the SDK's default, 16 MiB), for servers whose tools take large inputs.
func (s *Server) ServeStdioLimit(ctx context.Context, maxBytes int64) error {
	return s.s.Run(ctx, &mcp.StdioTransport{MaxLineLength: int(maxBytes)})
}

// Caller identifies who made a tool call, for audit records: the
// authenticated user when the transport verified a token, otherwise the
// client's self-declared name ("client:NAME"); and the MCP session id.
func Caller(req *mcp.CallToolRequest) (subject, session string) {
	if req == nil {
		return "", ""
	}
	if req.Session != nil {
		session = req.Session.ID()
		if ip := req.Session.InitializeParams(); ip != nil && ip.ClientInfo != nil {
			subject = "client:" + ip.ClientInfo.Name
		}
	}
	if req.Extra != nil && req.Extra.TokenInfo != nil && req.Extra.TokenInfo.UserID != "" {
		subject = req.Extra.TokenInfo.UserID
	}
	return subject, session
}
